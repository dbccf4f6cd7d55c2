/**
 * Layout `maps`: the common service ports (Cluster internal and external traffic policy, no
 * session affinity, no load-balancer source ranges) take no chain of their own. Their addresses
 * are elements of shared sets, one set per endpoint count N (`service-ips-N`,
 * `external-ips-N`, `service-nodeports-N`), and their endpoints elements of two shared data maps
 * keyed by the service address and an endpoint index (`service-endpoints`,
 * `nodeport-endpoints`). One fixed rule per count picks the endpoint:
 *
 *     ip daddr . meta l4proto . th dport @service-ips-3 dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @service-endpoints
 *
 * So adding or removing such a service port, an endpoint, a NodePort or a readiness flip changes
 * set and data-map elements only: no rule, chain or verdict-map element with a jump or goto,
 * which is what makes nf_tables re-validate the whole table at commit. The rules for counts 1 to
 * `PREBUILT_COUNTS` always exist, so that the common changes never add one; a plan with a larger
 * count adds that count's rules (three or four per count: the bound is the number of distinct
 * endpoint counts, not the number of services). Every other service port keeps the `flat`
 * layout's chains (build.ts).
 *
 * The masquerade decisions are kube-proxy's: ClusterIP traffic from outside the cluster CIDR (or
 * all of it with masquerade-all) and all external traffic (Cluster policy) set the masquerade
 * mark in the rule that does the DNAT; hairpin traffic (a pod reaching itself through a
 * service) is marked in `masquerading` by the `hairpin-endpoints` set of `endpoint . endpoint`
 * pairs, which only a DNATed packet can match at postrouting. No endpoints: the address is in
 * `reject-ips` / `reject-nodeports`, rejected in the filter chains as kube-proxy's
 * `no-endpoint-*` maps do.
 */
import type { Plan, ServicePortPlan } from '@kpb/compiler';
import type { ElementKey, KeyField, KeyType, L4Proto, NftChain, NftDataElement, NftDataMap, NftRule, NftSet, Statement } from './ruleset.ts';
import { l4Proto } from './ruleset.ts';

/** Endpoint counts whose rules always exist. */
export const PREBUILT_COUNTS = 16;

/** The sets' and data maps' elements, collected over every common service port. */
export interface CommonElements {
  /** The largest endpoint count with rules: `PREBUILT_COUNTS` or more. */
  readonly counts: number;
  /** By endpoint count − 1: ClusterIP keys, external (externalIPs, LB IPs) keys, NodePort keys. */
  readonly clusterByCount: ElementKey[][];
  readonly externalByCount: ElementKey[][];
  readonly nodePortsByCount: ElementKey[][];
  readonly rejectIPs: ElementKey[];
  readonly rejectNodePorts: ElementKey[];
  /** `ep . ep` by endpoint address: each once, however many services share it. */
  readonly hairpin: Map<string, ElementKey>;
  readonly endpoints: NftDataElement[];
  readonly nodePortEndpoints: NftDataElement[];
}

/** Does this service port take the shared sets and maps (not chains of its own)? */
export function commonServicePort(sp: ServicePortPlan): boolean {
  const f = sp.flags;
  return (
    sp.affinityTimeoutSeconds === undefined &&
    f.internalPolicy === 'cluster' &&
    f.externalPolicy === 'cluster' &&
    !f.usesFirewallChain &&
    f.internalFilter !== 'DROP' &&
    f.externalFilter !== 'DROP'
  );
}

/** The endpoint counts a plan needs rules for: `PREBUILT_COUNTS`, or its largest common count. */
export function commonCounts(plan: Plan): number {
  let counts = PREBUILT_COUNTS;
  for (const sp of plan.servicePorts) if (sp.clusterEndpoints.length > counts && commonServicePort(sp)) counts = sp.clusterEndpoints.length;
  return counts;
}

/** Which of `addresses` are an endpoint of a common service port of `plan` (a `hairpin-endpoints` pair). */
export function hairpinAddresses(plan: Plan, addresses: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const sp of plan.servicePorts) {
    for (const ep of sp.clusterEndpoints) if (addresses.has(ep.ip) && commonServicePort(sp)) out.add(ep.ip);
  }
  return out;
}

export function emptyCommonElements(plan: Plan): CommonElements {
  const counts = commonCounts(plan);
  const lists = (): ElementKey[][] => Array.from({ length: counts }, () => []);
  return {
    counts,
    clusterByCount: lists(),
    externalByCount: lists(),
    nodePortsByCount: lists(),
    rejectIPs: [],
    rejectNodePorts: [],
    hairpin: new Map(),
    endpoints: [],
    nodePortEndpoints: [],
  };
}

const l4 = (sp: ServicePortPlan): L4Proto => l4Proto(sp.protocol);

/** A common service port's elements. (Loops, no closure or spread: this runs for most of 10⁴ service ports.) */
export function addCommonElements(sp: ServicePortPlan, c: CommonElements): void {
  const proto = l4(sp);
  const eps = sp.clusterEndpoints;
  const n = eps.length;
  if (n === 0) {
    if (sp.flags.internalFilter) c.rejectIPs.push([sp.clusterIP, proto, sp.port]);
    if (sp.flags.externalFilter) {
      for (const ip of sp.externalIPs) c.rejectIPs.push([ip, proto, sp.port]);
      for (const ip of sp.loadBalancerIPs) c.rejectIPs.push([ip, proto, sp.port]);
      if (sp.nodePort !== undefined) c.rejectNodePorts.push([proto, sp.nodePort]);
    }
    return;
  }
  c.clusterByCount[n - 1]!.push([sp.clusterIP, proto, sp.port]);
  addressEndpoints(c, sp.clusterIP, proto, sp);
  addExternal(c, sp.externalIPs, proto, sp);
  addExternal(c, sp.loadBalancerIPs, proto, sp);
  if (sp.nodePort !== undefined) {
    c.nodePortsByCount[n - 1]!.push([proto, sp.nodePort]);
    for (let i = 0; i < n; i++) c.nodePortEndpoints.push({ key: [proto, sp.nodePort, i], addr: eps[i]!.ip, port: eps[i]!.port });
  }
  for (const ep of eps) if (!c.hairpin.has(ep.ip)) c.hairpin.set(ep.ip, [ep.ip, ep.ip]);
}

/** External addresses (externalIPs, load-balancer IPs) of a common service port with endpoints. */
function addExternal(c: CommonElements, ips: readonly string[], proto: L4Proto, sp: ServicePortPlan): void {
  for (const ip of ips) {
    c.externalByCount[sp.clusterEndpoints.length - 1]!.push([ip, proto, sp.port]);
    addressEndpoints(c, ip, proto, sp);
  }
}

/** The `service-endpoints` elements of one address of a service port: one per endpoint index. */
function addressEndpoints(c: CommonElements, ip: string, proto: L4Proto, sp: ServicePortPlan): void {
  const eps = sp.clusterEndpoints;
  for (let i = 0; i < eps.length; i++) c.endpoints.push({ key: [ip, proto, sp.port, i], addr: eps[i]!.ip, port: eps[i]!.port });
}

/** The layout's sets, in a fixed order, with the elements collected so far. */
export function mapsSets(addrType: KeyType, c: CommonElements): NftSet[] {
  const ipKey: KeyType[] = [addrType, 'inet_proto', 'inet_service'];
  const portKey: KeyType[] = ['inet_proto', 'inet_service'];
  const set = (name: string, keyType: KeyType[], elements: ElementKey[]): NftSet => ({ name, keyType, flags: [], elements });
  const sets: NftSet[] = [];
  for (let n = 1; n <= c.counts; n++) sets.push(set(`service-ips-${n}`, ipKey, c.clusterByCount[n - 1]!));
  for (let n = 1; n <= c.counts; n++) sets.push(set(`external-ips-${n}`, ipKey, c.externalByCount[n - 1]!));
  for (let n = 1; n <= c.counts; n++) sets.push(set(`service-nodeports-${n}`, portKey, c.nodePortsByCount[n - 1]!));
  sets.push(set('reject-ips', ipKey, c.rejectIPs), set('reject-nodeports', portKey, c.rejectNodePorts));
  sets.push(set('hairpin-endpoints', [addrType, addrType], [...c.hairpin.values()]));
  return sets;
}

const SERVICE_KEY: readonly KeyField[] = ['daddr', 'l4proto', 'dport'];
const NODEPORT_KEY: readonly KeyField[] = ['l4proto', 'dport'];

/** The two data maps: service address (or NodePort) and index → endpoint. */
export function mapsDataMaps(addrType: KeyType, c: CommonElements): NftDataMap[] {
  return [
    { name: 'service-endpoints', key: SERVICE_KEY, keyType: [addrType, 'inet_proto', 'inet_service', 'integer'], elements: c.endpoints },
    { name: 'nodeport-endpoints', key: NODEPORT_KEY, keyType: ['inet_proto', 'inet_service', 'integer'], elements: c.nodePortEndpoints },
  ];
}

/** What the fixed rules of the layout depend on. */
export interface CommonContext {
  readonly mark: number;
  readonly clusterCIDR: string | undefined;
  readonly masqueradeAll: boolean;
  /** The head of a NodePort rule (build.ts `nodePortMatch`). */
  nodePortHead(fibLocal: boolean): Statement[];
}

const rule = (statements: Statement[]): NftRule => ({ statements });
const inSet = (key: readonly KeyField[], set: string): Statement => ({ kind: 'match-key-in', key, set });

/** The endpoint-choosing rules of count `n`: ClusterIPs, external addresses, NodePorts. */
function countRules(ctx: CommonContext, n: number): { ips: NftRule[]; nodePorts: NftRule } {
  const markMasq: Statement = { kind: 'mark-or', mark: ctx.mark };
  const dnat: Statement = { kind: 'dnat-map', key: SERVICE_KEY, mod: n, map: 'service-endpoints' };
  const cluster = inSet(SERVICE_KEY, `service-ips-${n}`);
  const ips: NftRule[] = [];
  if (ctx.masqueradeAll) ips.push(rule([cluster, markMasq, dnat]));
  else {
    if (ctx.clusterCIDR !== undefined) ips.push(rule([cluster, { kind: 'match-addr', field: 'saddr', op: '!=', value: ctx.clusterCIDR }, markMasq, dnat]));
    ips.push(rule([cluster, dnat]));
  }
  ips.push(rule([inSet(SERVICE_KEY, `external-ips-${n}`), markMasq, dnat]));
  const nodePorts = rule([
    ...ctx.nodePortHead(true),
    inSet(NODEPORT_KEY, `service-nodeports-${n}`),
    markMasq,
    { kind: 'dnat-map', key: NODEPORT_KEY, mod: n, map: 'nodeport-endpoints' },
  ]);
  return { ips, nodePorts };
}

/** Replaces the fixed chain `name` of `chains` by `change(chain)`. */
function changeChain(chains: NftChain[], name: string, change: (rules: readonly NftRule[]) => NftRule[]): void {
  const i = chains.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`layout maps: no fixed chain ${name}`);
  chains[i] = { ...chains[i]!, rules: change(chains[i]!.rules) };
}

/**
 * Adds the layout's fixed rules to the `flat` layout's fixed chains: the endpoint choice in
 * `services` (ClusterIP and external rules after the `service-ips` lookup, NodePort rules after
 * the `service-nodeports` one, as kube-proxy orders them), the rejects in the endpoint checks,
 * the hairpin mark at the head of `masquerading`.
 */
export function addFixedRules(chains: NftChain[], c: CommonElements, ctx: CommonContext): void {
  const ips: NftRule[] = [];
  const nodePorts: NftRule[] = [];
  for (let n = 1; n <= c.counts; n++) {
    const r = countRules(ctx, n);
    ips.push(...r.ips);
    nodePorts.push(r.nodePorts);
  }
  changeChain(chains, 'services', (rules) => [rules[0]!, ...ips, ...rules.slice(1), ...nodePorts]);
  changeChain(chains, 'service-endpoints-check', (rules) => [...rules, rule([inSet(SERVICE_KEY, 'reject-ips'), { kind: 'reject' }])]);
  changeChain(chains, 'nodeport-endpoints-check', (rules) => [
    ...rules,
    rule([...ctx.nodePortHead(false), inSet(NODEPORT_KEY, 'reject-nodeports'), { kind: 'reject' }]),
  ]);
  changeChain(chains, 'masquerading', (rules) => [rule([inSet(['saddr', 'daddr'], 'hairpin-endpoints'), { kind: 'mark-or', mark: ctx.mark }]), ...rules]);
}
