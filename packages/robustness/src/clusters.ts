/**
 * The OLD → NEW pair the fault tests move between: NEW drops some services of OLD, changes the
 * endpoints of others and adds new ones (so an incremental sync creates, rewrites and deletes).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, nodeSettings, type NodeSettings, type Plan } from '@kpb/compiler';
import { generateCluster, GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE, toKubernetesJson, type Cluster } from '@kpb/model';

// NodePorts on every local address for every backend, given explicitly: the CLI's default differs
// by kube-proxy mode (primary for nft and nftnl), and the in-process plans must be the CLI's.
const SETTINGS: NodeSettings = nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR, nodePortAddresses: ['0.0.0.0/0'] });
/** The same node settings as CLI flags. */
export const SETTINGS_FLAGS: readonly string[] = ['--node', GENERATED_LOCAL_NODE, '--cluster-cidr', GENERATED_CLUSTER_CIDR, '--nodeport-addresses', '0.0.0.0/0'];

export interface Pair {
  readonly old: Cluster;
  readonly new: Cluster;
  readonly oldPlan: Plan;
  readonly newPlan: Plan;
}

export function clusterPair(count: number, seed = 5): Pair {
  const a = generateCluster({ services: count, endpointsPerService: 2, seed });
  const idx = (n: string) => Number(n.slice(4));
  // NEW: OLD without svc-0..2; svc-3..5 with other endpoint addresses; svc-6..7 without endpoints;
  // 5 new ClusterIP services.
  const moved = (ip: string) => ip.replace(/\.(\d+)$/, (_m, o: string) => `.${(Number(o) + 100) % 250}`);
  const services = a.services.filter((s) => idx(s.name) >= 3);
  const slices = a.endpointSlices
    .filter((e) => idx(e.serviceName) >= 3)
    .map((e) => (idx(e.serviceName) < 6 ? { ...e, endpoints: e.endpoints.map((ep) => ({ ...ep, addresses: ep.addresses.map(moved) })) } : e))
    // svc-6..7 lose their endpoints: REJECT rules in filter, so NEW's filter table differs from OLD's.
    .map((e) => (idx(e.serviceName) === 6 || idx(e.serviceName) === 7 ? { ...e, endpoints: [] } : e));
  const added = a.services.filter((s) => s.type === 'ClusterIP' && !s.headless && s.clusterIPs.length === 1).slice(0, 5);
  added.forEach((s, i) => {
    const name = `new-${i}`;
    services.push({ ...s, name, clusterIPs: [`10.96.200.${10 + i}`] });
    for (const e of a.endpointSlices.filter((x) => x.serviceName === s.name && x.namespace === s.namespace)) {
      slices.push({ ...e, name: `${name}-${e.name}`, serviceName: name });
    }
  });
  const sortNs = <T extends { namespace: string; name: string }>(xs: T[]) => xs.sort((x, y) => (x.namespace !== y.namespace ? (x.namespace < y.namespace ? -1 : 1) : x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  const next: Cluster = { services: sortNs(services), endpointSlices: sortNs(slices), nodes: a.nodes };
  return { old: a, new: next, oldPlan: compile(a, SETTINGS), newPlan: compile(next, SETTINGS) };
}

/** Writes OLD and NEW as kubectl JSON into `dir`; returns the paths. */
export function writePair(pair: Pair, dir: string): { old: string; new: string } {
  const paths = { old: join(dir, 'old.json'), new: join(dir, 'new.json') };
  writeFileSync(paths.old, toKubernetesJson(pair.old));
  writeFileSync(paths.new, toKubernetesJson(pair.new));
  return paths;
}
