/**
 * Which endpoints serve which traffic, following kube-proxy's CategorizeEndpoints
 * (pkg/proxy/topology.go), without topology hints.
 */
import type { PlanEndpoint } from './types.ts';

export interface EndpointCategories {
  /** Endpoints for Cluster policy; empty when the service port does not use them. */
  readonly cluster: readonly PlanEndpoint[];
  /** Endpoints for Local policy; empty when the service port does not use them. */
  readonly local: readonly PlanEndpoint[];
  /** Union of the two: every endpoint some chain may reach. */
  readonly reachable: readonly PlanEndpoint[];
  /** Some usable endpoint exists anywhere (kube-proxy's hasAnyEndpoints). */
  readonly hasAny: boolean;
}

/** Shared by every service port without endpoints of a kind (plans are readonly). */
const NO_ENDPOINTS: readonly PlanEndpoint[] = [];

const isServingTerminating = (ep: PlanEndpoint): boolean => ep.serving && ep.terminating;

/**
 * @param usesCluster internal policy Cluster, or externally accessible (short-circuiting needs cluster endpoints)
 * @param usesLocal internal policy Local, or external policy Local on an externally accessible port
 */
export function categorizeEndpoints(
  endpoints: readonly PlanEndpoint[],
  usesCluster: boolean,
  usesLocal: boolean,
): EndpointCategories {
  let cluster = NO_ENDPOINTS;
  let hasAny = false;
  if (usesCluster) {
    cluster = readyOnly(endpoints);
    // No ready endpoint anywhere: fall back to serving-and-terminating ones.
    if (cluster.length === 0) cluster = endpoints.filter(isServingTerminating);
    hasAny = cluster.length > 0;
  }
  if (!usesLocal) return { cluster, local: NO_ENDPOINTS, reachable: cluster, hasAny };

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAny = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (isServingTerminating(ep)) {
      hasAny = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  let local = NO_ENDPOINTS;
  if (hasLocalReady) local = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (hasLocalServingTerminating) local = endpoints.filter((ep) => ep.isLocal && isServingTerminating(ep));

  if (!usesCluster) return { cluster, local, reachable: local, hasAny };
  // Local endpoints that are ready are already among the cluster endpoints.
  if (hasLocalReady || local.length === 0) return { cluster, local, reachable: cluster, hasAny };
  const byAddress = new Map<string, PlanEndpoint>();
  for (const ep of cluster) byAddress.set(ep.address, ep);
  for (const ep of local) byAddress.set(ep.address, ep);
  const reachable = sortEndpoints([...byAddress.values()]);
  return { cluster, local, reachable, hasAny };
}

/** The ready endpoints; the array itself when all are (the common case: no copy). */
function readyOnly(endpoints: readonly PlanEndpoint[]): readonly PlanEndpoint[] {
  for (const ep of endpoints) if (!ep.ready) return endpoints.filter((e) => e.ready);
  return endpoints;
}

/** kube-proxy orders endpoints by their `ip:port` string. */
function compareEndpoints(a: PlanEndpoint, b: PlanEndpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** Sorts endpoints in place by {@link compareEndpoints}. */
export function sortEndpoints(list: PlanEndpoint[]): PlanEndpoint[] {
  return sortInPlace(list, compareEndpoints);
}

/**
 * Array.prototype.sort, stable as it is, without its cost on short lists: each call allocates
 * close to 1 kB of sorting state, which per service port was the largest part of all that
 * compile allocated. Short lists get an insertion sort (also stable) instead.
 */
export function sortInPlace<T>(list: T[], compare: (a: T, b: T) => number): T[] {
  if (list.length > 16) return list.sort(compare);
  for (let i = 1; i < list.length; i++) {
    const item = list[i]!;
    let j = i - 1;
    while (j >= 0 && compare(list[j]!, item) > 0) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = item;
  }
  return list;
}
