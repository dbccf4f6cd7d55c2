/**
 * The clusters a run measures: seeded generated clusters, the same for every backend, with the
 * first and the last service of the ruleset pointed at the one real pod of the virtual cluster
 * (so first-packet latency can be measured through both), plus the changed clusters for
 * `incremental-1` (one service gains an endpoint) and `churn-1pct` (1% of services do).
 */
import type { Cluster, EndpointSlice, Service } from '@kpb/model';
import { GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE, generateCluster } from '@kpb/model';
import { compile, nodeSettings } from '@kpb/compiler';
import type { NodeSettings, Plan } from '@kpb/compiler';

/** The pod that answers for the first and last services. Inside the generated pod CIDR, far from generated pods. */
export const PROBE_POD_IP = '10.250.0.10';
export const PROBE_POD_PORT = 8080;
export const PROBE_SERVICE_PORT = 80;
/** Added endpoints come from here (never used by the generator below 1M × 3 endpoints). */
const ADDED_BASE = [10, 251, 0, 0] as const;

export interface BenchCluster {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly seed: number;
  readonly cluster: Cluster;
  readonly settings: NodeSettings;
  /** Compiled `cluster`. */
  readonly plan: Plan;
  /** One service changed (an endpoint added); syncing back removes it. */
  readonly plusOne: Plan;
  /** ceil(1%) of services changed (an endpoint added to each). */
  readonly churn: Plan;
  readonly churnCount: number;
  /** ClusterIPs of the first and last service port of the plan (both lead to the probe pod). */
  readonly firstIP: string;
  readonly lastIP: string;
  readonly firstKey: string;
  readonly lastKey: string;
}

function benchSettings(): NodeSettings {
  return nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR });
}

function addedIP(i: number): string {
  return `${ADDED_BASE[0]}.${ADDED_BASE[1] + ((i >> 16) & 0x03)}.${(i >> 8) & 0xff}.${(i & 0xff) || 1}`;
}

/** Point a service at the probe pod: one TCP port 80 → 8080, ClusterIP, one ready endpoint. */
function toProbeService(svc: Service): Service {
  return {
    ...svc,
    type: 'ClusterIP',
    ports: [{ name: '', protocol: 'TCP', port: PROBE_SERVICE_PORT, targetPort: PROBE_POD_PORT }],
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    sessionAffinity: undefined,
    healthCheckNodePort: undefined,
  } as Service;
}

function probeSlice(svc: Service): EndpointSlice {
  return {
    namespace: svc.namespace,
    name: `${svc.name}-probe`,
    serviceName: svc.name,
    addressType: 'IPv4',
    ports: [{ name: '', protocol: 'TCP', port: PROBE_POD_PORT }],
    endpoints: [{ addresses: [PROBE_POD_IP], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' }],
  };
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Add one ready endpoint to the first non-empty slice of each named service. */
function withAddedEndpoints(cluster: Cluster, names: ReadonlySet<string>, ipOffset: number): Cluster {
  const done = new Set<string>();
  let n = ipOffset;
  const endpointSlices = cluster.endpointSlices.map((s) => {
    const id = `${s.namespace}/${s.serviceName}`;
    if (!names.has(id) || done.has(id) || s.endpoints.length === 0) return s;
    done.add(id);
    const model = s.endpoints[0]!;
    return {
      ...s,
      endpoints: [
        ...s.endpoints,
        { ...model, addresses: [addedIP(n++)], conditions: { ready: true, serving: true, terminating: false } },
      ],
    };
  });
  return { ...cluster, endpointSlices };
}

export function buildBenchCluster(services: number, endpointsPerService: number, seed: number): BenchCluster {
  if (services < 2) throw new RangeError('bench: at least 2 services');
  const generated = generateCluster({ services, endpointsPerService, seed });
  const settings = benchSettings();

  // Plan order = ruleset order (service ports sorted by key): the first and last services become
  // probe services. Rewriting a service changes its port key, which may reorder: repeat until stable.
  const probeIds = new Set<string>();
  let cluster: Cluster = generated;
  let plan = compile(cluster, settings);
  for (let round = 0; round < 5; round++) {
    const ends = [plan.servicePorts[0]!, plan.servicePorts[plan.servicePorts.length - 1]!];
    const ids = ends.map((p) => `${p.namespace}/${p.serviceName}`);
    if (round > 0 && ids.every((id) => probeIds.has(id))) break;
    for (const id of ids) probeIds.add(id);
    cluster = {
      ...generated,
      services: generated.services.map((s) => (probeIds.has(`${s.namespace}/${s.name}`) ? stripUndefined(toProbeService(s)) : s)),
      endpointSlices: [
        ...generated.endpointSlices.filter((s) => !probeIds.has(`${s.namespace}/${s.serviceName}`)),
        ...generated.services.filter((s) => probeIds.has(`${s.namespace}/${s.name}`)).map(probeSlice),
      ].sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1)),
    };
    plan = compile(cluster, settings);
  }

  // Services that have endpoints and are not the probe services, in a fixed spread order.
  const withEndpoints = new Set(cluster.endpointSlices.filter((s) => s.endpoints.length > 0).map((s) => `${s.namespace}/${s.serviceName}`));
  const candidates = cluster.services.map((s) => `${s.namespace}/${s.name}`).filter((id) => withEndpoints.has(id) && !probeIds.has(id));
  if (candidates.length === 0) throw new Error('bench: no service with endpoints to change');
  const one = candidates[Math.floor(candidates.length / 2)]!;
  const churnCount = Math.max(1, Math.ceil(services / 100));
  const step = candidates.length / churnCount;
  const churnIds = new Set<string>();
  for (let i = 0; i < churnCount && i < candidates.length; i++) churnIds.add(candidates[Math.floor(i * step)]!);

  const firstP = plan.servicePorts[0]!;
  const lastP = plan.servicePorts[plan.servicePorts.length - 1]!;
  for (const p of [firstP, lastP]) {
    if (!probeIds.has(`${p.namespace}/${p.serviceName}`)) throw new Error(`bench: ${p.key} should lead to the probe pod`);
  }
  return {
    services,
    endpointsPerService,
    seed,
    cluster,
    settings,
    plan,
    plusOne: compile(withAddedEndpoints(cluster, new Set([one]), 0), settings),
    churn: compile(withAddedEndpoints(cluster, churnIds, 1000), settings),
    churnCount: churnIds.size,
    firstIP: firstP.clusterIP,
    lastIP: lastP.clusterIP,
    firstKey: firstP.key,
    lastKey: lastP.key,
  };
}
