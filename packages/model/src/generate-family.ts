/**
 * IPv6 and dual-stack clusters for the generator: a generated IPv4 cluster turned into the same
 * cluster in another family mode, so that the IPv4 cluster of a seed stays what it always was.
 * Every IPv4 address has one IPv6 twin (the same offset in an IPv6 range of the same role):
 *
 * - ClusterIPs 10.96.0.0/12 → fd00:10:96::/108;
 * - pod IPs 10.128.0.0/9 → fd00:10:128::/104 (inside {@link GENERATED_CLUSTER_CIDR_V6});
 * - external and load-balancer IPs → 2001:db8:e::/96 (the IPv4 address as the low 32 bits);
 * - node InternalIPs 192.168.0.0/16 → fd00:192:168::/112.
 *
 * `dual`: most services are dual-stack (IPv4 primary, a quarter of them IPv6 primary), some
 * single-stack of either family; Nodes have both addresses; each family's endpoints are in
 * EndpointSlices of their own address type, as the EndpointSlice controller writes them.
 */
import type { Cluster, EndpointSlice, IPFamily, Service } from './types.ts';
import { ipFromBigInt, ipToBigInt, ipv4ToInt } from './net.ts';
import { mulberry32 } from './rand.ts';
import { sortByNamespaceName } from './validate.ts';

/** The family mode of a generated cluster. */
export type GeneratedFamilies = 'IPv4' | 'IPv6' | 'dual';

/** Pod network of generated IPv6 (and dual-stack) clusters. */
export const GENERATED_CLUSTER_CIDR_V6 = 'fd00:10:128::/64';

/** Shares of services in a dual-stack cluster: dual-stack, IPv4 only, the rest IPv6 only. */
const DUAL_SHARE = 0.8;
const IPV4_ONLY_SHARE = 0.1;
/** Of the dual-stack services, those whose primary family is IPv6. */
const IPV6_PRIMARY_SHARE = 0.25;

/** IPv4 range → IPv6 range of the same role: [v4 base, v6 base]. */
const TWINS: readonly (readonly [v4: string, bits: number, v6: string])[] = [
  ['10.96.0.0', 12, 'fd00:10:96::'],
  ['10.128.0.0', 9, 'fd00:10:128::'],
  ['192.168.0.0', 16, 'fd00:192:168::'],
];
const EXTERNAL_V6 = ipToBigInt('2001:db8:e::')!;
/** The generator's IPv4 source ranges' IPv6 counterparts (documentation space). */
const SOURCE_RANGE_TWINS: Readonly<Record<string, string>> = {
  '192.0.2.0/24': '2001:db8:2::/48',
  '10.0.0.0/8': '2001:db8:a::/48',
  '172.16.0.0/12': '2001:db8:ac::/48',
  '198.18.0.0/15': '2001:db8:c6::/48',
};

/** The IPv6 twin of a generated IPv4 address. */
function ipv6Twin(ip: string): string {
  const n = ipv4ToInt(ip);
  for (const [v4, bits, v6] of TWINS) {
    const base = ipv4ToInt(v4);
    const size = 2 ** (32 - bits);
    if (n >= base && n < base + size) return ipFromBigInt(ipToBigInt(v6)! + BigInt(n - base), 'IPv6');
  }
  return ipFromBigInt(EXTERNAL_V6 + BigInt(n), 'IPv6');
}

const twinRange = (cidr: string): string => {
  const t = SOURCE_RANGE_TWINS[cidr];
  if (t === undefined) throw new RangeError(`generateCluster: no IPv6 twin for source range ${cidr}`);
  return t;
};

/** The service in `families` (IPv4 first unless `v6First`): every address list holds those families' addresses. */
function serviceIn(s: Service, families: readonly IPFamily[], v6First: boolean): Service {
  const both = (ips: readonly string[]) => {
    const out: string[] = [];
    for (const ip of ips) {
      const pair = v6First ? [ipv6Twin(ip), ip] : [ip, ipv6Twin(ip)];
      for (const a of pair) if (families.includes(a.includes(':') ? 'IPv6' : 'IPv4')) out.push(a);
    }
    return out;
  };
  const ranges: string[] = [];
  for (const r of s.loadBalancerSourceRanges) {
    if (families.includes('IPv4')) ranges.push(r);
    if (families.includes('IPv6')) ranges.push(twinRange(r));
  }
  return { ...s, clusterIPs: both(s.clusterIPs), externalIPs: both(s.externalIPs), loadBalancerIPs: both(s.loadBalancerIPs), loadBalancerSourceRanges: ranges };
}

/** An IPv4 slice's IPv6 twin: the same pods, conditions and nodes; named after it with `-v6`. */
function sliceV6(slice: EndpointSlice, renamed: boolean): EndpointSlice {
  return {
    ...slice,
    name: renamed ? `${slice.name}-v6` : slice.name,
    addressType: 'IPv6',
    endpoints: slice.endpoints.map((e) => ({ ...e, addresses: e.addresses.map(ipv6Twin) })),
  };
}

/** `cluster` (a generated IPv4 one) in the family mode `families`; the IPv4 cluster itself for `IPv4`. */
export function inFamilies(cluster: Cluster, families: GeneratedFamilies, seed: number): Cluster {
  if (families === 'IPv4') return cluster;
  const rand = mulberry32((seed ^ 0x5f3759df) >>> 0);
  const familiesOf = new Map<string, { families: IPFamily[]; v6First: boolean }>();
  const services = cluster.services.map((s) => {
    let chosen: { families: IPFamily[]; v6First: boolean } = { families: ['IPv6'], v6First: true };
    if (families === 'dual') {
      const r = rand();
      if (r < DUAL_SHARE) chosen = { families: ['IPv4', 'IPv6'], v6First: rand() < IPV6_PRIMARY_SHARE };
      else if (r < DUAL_SHARE + IPV4_ONLY_SHARE) chosen = { families: ['IPv4'], v6First: false };
    }
    familiesOf.set(`${s.namespace}/${s.name}`, chosen);
    return serviceIn(s, chosen.families, chosen.v6First);
  });
  const slices: EndpointSlice[] = [];
  for (const slice of cluster.endpointSlices) {
    const f = familiesOf.get(`${slice.namespace}/${slice.serviceName}`)?.families ?? ['IPv4'];
    if (f.includes('IPv4')) slices.push(slice);
    if (f.includes('IPv6')) slices.push(sliceV6(slice, f.includes('IPv4')));
  }
  sortByNamespaceName(slices);
  const nodes = cluster.nodes.map((n) => ({
    ...n,
    addresses: n.addresses.flatMap((a) =>
      a.type !== 'InternalIP' ? [a] : families === 'dual' ? [a, { ...a, address: ipv6Twin(a.address) }] : [{ ...a, address: ipv6Twin(a.address) }],
    ),
  }));
  return { services, endpointSlices: slices, nodes };
}
