/**
 * The clusters a run measures: seeded generated clusters, the same for every backend, in the
 * run's family mode (`--family`: one plan per IP family, compiled with each family's cluster
 * CIDR), with the first and the last service of the ruleset pointed at the one real pod of the
 * virtual cluster (so first-packet latency can be measured through both; IPv4 unless the run is
 * IPv6 only), plus the changed clusters for `incremental-1` (one service gains an endpoint; in a
 * dual-stack run a dual-stack service, in both families) and `churn-1pct` (1% of services do, in
 * each family they have).
 */
import type { Cluster, EndpointSlice, IPFamily, Service } from '@kpb/model';
import { GENERATED_CLUSTER_CIDR, GENERATED_CLUSTER_CIDR_V6, GENERATED_LOCAL_NODE, generateCluster } from '@kpb/model';
import { compileFamilies, nodeSettings } from '@kpb/compiler';
import type { NodeSettings, Plan } from '@kpb/compiler';
import type { FamilyMode } from './results.ts';

/** The pod that answers for the first and last services. Inside the generated pod CIDR, far from generated pods. */
export const PROBE_POD_IP = '10.250.0.10';
/** The same pod's IPv6 address (the generator's twin of PROBE_POD_IP): IPv6 endpoints of dual-stack probe services. */
const PROBE_POD_IP_V6 = 'fd00:10:128::7a:a';
export const PROBE_POD_PORT = 8080;
export const PROBE_SERVICE_PORT = 80;
/** Added endpoints come from here (never used by the generator below 1M × 3 endpoints). */
const ADDED_BASE = [10, 251, 0, 0] as const;

/** The families of each mode, IPv4 first (the order of a run's plans). */
const FAMILIES: Readonly<Record<FamilyMode, readonly IPFamily[]>> = { ipv4: ['IPv4'], ipv6: ['IPv6'], dual: ['IPv4', 'IPv6'] };
const GENERATED: Readonly<Record<FamilyMode, 'IPv4' | 'IPv6' | 'dual'>> = { ipv4: 'IPv4', ipv6: 'IPv6', dual: 'dual' };
/** Each family's plan gets the generator's pod network of that family. */
const CLUSTER_CIDRS: readonly string[] = [GENERATED_CLUSTER_CIDR, GENERATED_CLUSTER_CIDR_V6];

export interface BenchCluster {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly seed: number;
  /** The run's family mode. */
  readonly family: FamilyMode;
  /** Its IP families, IPv4 first: one plan each. */
  readonly families: readonly IPFamily[];
  readonly cluster: Cluster;
  /** Common settings; each family's cluster CIDR is added by `compile` (compileFamilies). */
  readonly settings: NodeSettings;
  /** `cluster` → one plan per family: the compile a full sync and the generate figure time. */
  compile(): Plan[];
  /** Compiled `cluster`, one plan per family. */
  readonly plans: readonly Plan[];
  /** One service changed (an endpoint added; dual: a dual-stack service, in both families); syncing back removes it. */
  readonly plusOne: readonly Plan[];
  /** ceil(1%) of services changed (an endpoint added to each, in each of its families). */
  readonly churn: readonly Plan[];
  readonly churnCount: number;
  /** The family of the probe services' figures (first-packet): IPv4 unless the run is IPv6 only. */
  readonly probeFamily: IPFamily;
  /** ClusterIPs (of `probeFamily`) of the first and last service port of that family's plan (both lead to the probe pod). */
  readonly firstIP: string;
  readonly lastIP: string;
  readonly firstKey: string;
  readonly lastKey: string;
}

function benchSettings(): NodeSettings {
  return nodeSettings({ nodeName: GENERATED_LOCAL_NODE });
}

function addedIP(i: number): string {
  return `${ADDED_BASE[0]}.${ADDED_BASE[1] + ((i >> 16) & 0x03)}.${(i >> 8) & 0xff}.${(i & 0xff) || 1}`;
}

/** The IPv6 twin of addedIP(i) (the generator's pod twins: 10.128.0.0 + n → fd00:10:128:: + n). */
function addedIPv6(i: number): string {
  const n = (ADDED_BASE[1] - 128) * 0x10000 + (((i >> 16) & 0x03) << 16) + (i & 0xff00) + ((i & 0xff) || 1);
  return `fd00:10:128::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
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

/** The probe pod's slices for a probe service: one per family of its cluster IPs. */
function probeSlices(svc: Service): EndpointSlice[] {
  const families = new Set(svc.clusterIPs.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4')));
  return (['IPv4', 'IPv6'] as const)
    .filter((f) => families.has(f))
    .map((f) => ({
      namespace: svc.namespace,
      name: f === 'IPv4' ? `${svc.name}-probe` : `${svc.name}-probe-v6`,
      serviceName: svc.name,
      addressType: f,
      ports: [{ name: '', protocol: 'TCP', port: PROBE_POD_PORT }],
      endpoints: [{ addresses: [f === 'IPv4' ? PROBE_POD_IP : PROBE_POD_IP_V6], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' }],
    }));
}

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Add one ready endpoint to the first non-empty slice of each named service, in each family (address type) it has. */
function withAddedEndpoints(cluster: Cluster, names: ReadonlySet<string>, ipOffset: number): Cluster {
  const done = new Set<string>();
  let n = ipOffset;
  const endpointSlices = cluster.endpointSlices.map((s) => {
    const id = `${s.namespace}/${s.serviceName}`;
    const once = `${id}|${s.addressType}`;
    if (!names.has(id) || done.has(once) || s.endpoints.length === 0 || s.addressType === 'FQDN') return s;
    done.add(once);
    const model = s.endpoints[0]!;
    const ip = s.addressType === 'IPv6' ? addedIPv6(n++) : addedIP(n++);
    return {
      ...s,
      endpoints: [...s.endpoints, { ...model, addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }],
    };
  });
  return { ...cluster, endpointSlices };
}

export function buildBenchCluster(services: number, endpointsPerService: number, seed: number, family: FamilyMode = 'ipv4'): BenchCluster {
  if (services < 2) throw new RangeError('bench: at least 2 services');
  const generated = generateCluster({ services, endpointsPerService, seed, families: GENERATED[family] });
  const settings = benchSettings();
  const families = FAMILIES[family];
  const compilePlans = (c: Cluster): Plan[] => compileFamilies(c, settings, families, CLUSTER_CIDRS);
  const probeFamily: IPFamily = families.includes('IPv4') ? 'IPv4' : 'IPv6';
  const probePlan = (plans: readonly Plan[]): Plan => plans.find((p) => p.family === probeFamily)!;

  // Plan order = ruleset order (service ports sorted by key): the first and last services of the
  // probe family's plan become probe services. Rewriting a service changes its port key, which
  // may reorder: repeat until stable.
  const probeIds = new Set<string>();
  let cluster: Cluster = generated;
  let plans = compilePlans(cluster);
  for (let round = 0; round < 5; round++) {
    const { servicePorts } = probePlan(plans);
    const ends = [servicePorts[0]!, servicePorts[servicePorts.length - 1]!];
    const ids = ends.map((p) => `${p.namespace}/${p.serviceName}`);
    if (round > 0 && ids.every((id) => probeIds.has(id))) break;
    for (const id of ids) probeIds.add(id);
    cluster = {
      ...generated,
      services: generated.services.map((s) => (probeIds.has(`${s.namespace}/${s.name}`) ? stripUndefined(toProbeService(s)) : s)),
      endpointSlices: [
        ...generated.endpointSlices.filter((s) => !probeIds.has(`${s.namespace}/${s.serviceName}`)),
        ...generated.services.filter((s) => probeIds.has(`${s.namespace}/${s.name}`)).flatMap(probeSlices),
      ].sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1)),
    };
    plans = compilePlans(cluster);
  }

  // Services that have endpoints and are not the probe services, in a fixed spread order.
  const endpointFamilies = new Map<string, Set<string>>();
  for (const s of cluster.endpointSlices) {
    if (s.endpoints.length === 0) continue;
    const id = `${s.namespace}/${s.serviceName}`;
    endpointFamilies.set(id, (endpointFamilies.get(id) ?? new Set()).add(s.addressType));
  }
  const candidates = cluster.services.map((s) => `${s.namespace}/${s.name}`).filter((id) => endpointFamilies.has(id) && !probeIds.has(id));
  if (candidates.length === 0) throw new Error('bench: no service with endpoints to change');
  // The one-service change: a service with endpoints in every family of the run (dual: a dual-stack one).
  const inEvery = candidates.filter((id) => families.every((f) => endpointFamilies.get(id)!.has(f)));
  const oneFrom = inEvery.length > 0 ? inEvery : candidates;
  const one = oneFrom[Math.floor(oneFrom.length / 2)]!;
  const churnCount = Math.max(1, Math.ceil(services / 100));
  const step = candidates.length / churnCount;
  const churnIds = new Set<string>();
  for (let i = 0; i < churnCount && i < candidates.length; i++) churnIds.add(candidates[Math.floor(i * step)]!);

  const { servicePorts } = probePlan(plans);
  const firstP = servicePorts[0]!;
  const lastP = servicePorts[servicePorts.length - 1]!;
  for (const p of [firstP, lastP]) {
    if (!probeIds.has(`${p.namespace}/${p.serviceName}`)) throw new Error(`bench: ${p.key} should lead to the probe pod`);
  }
  const final = cluster;
  return {
    services,
    endpointsPerService,
    seed,
    family,
    families,
    cluster,
    settings,
    compile: () => compilePlans(final),
    plans,
    plusOne: compilePlans(withAddedEndpoints(cluster, new Set([one]), 0)),
    churn: compilePlans(withAddedEndpoints(cluster, churnIds, 1000)),
    churnCount: churnIds.size,
    probeFamily,
    firstIP: firstP.clusterIP,
    lastIP: lastP.clusterIP,
    firstKey: firstP.key,
    lastKey: lastP.key,
  };
}
