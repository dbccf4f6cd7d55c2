/**
 * Plan → NftRuleset, following kube-proxy's nftables proxier (pkg/proxy/nftables/proxier.go,
 * KEP-3866). Pure: every decision is taken from the plan's flags.
 */
import { hashName } from '@kpb/backend';
import { masqueradeMark } from '@kpb/compiler';
import type { Plan, PlanEndpoint, ServicePortPlan } from '@kpb/compiler';
import type {
  ChainHook, ElementKey, KeyType, L4Proto, NftChain, NftFamily, NftLayout, NftMap, NftMapElement, NftRule,
  NftRuleset, NftSet, Statement, Verdict,
} from './ruleset.ts';
import { referenceProblems } from './ruleset.ts';

export interface BuildOptions {
  /** `flat` (default) or `kube-proxy`. */
  readonly layout?: NftLayout;
  /**
   * Add kube-proxy's (1.31+) `cluster-ips` set, `cluster-ips-check` chain and
   * `filter-output-post-dnat` base chain, which REJECT traffic to a ClusterIP on a port no service
   * serves. Off by default: kube-proxy's iptables mode leaves such traffic alone, and kpb keeps
   * the two modes' packet semantics identical.
   */
  readonly clusterIPsCheck?: boolean;
}

/** kube-proxy's fixed chain, map and set names. */
const NAMES = {
  services: 'services',
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  rejectChain: 'reject-chain',
  firewallIPs: 'firewall-ips',
  firewallCheck: 'firewall-check',
  markMasq: 'mark-for-masquerade',
  masquerading: 'masquerading',
  clusterIPs: 'cluster-ips',
  clusterIPsCheck: 'cluster-ips-check',
} as const;

/** dstnat and srcnat priorities. */
const DSTNAT = -100;
const SRCNAT = 100;

const MAX_BASE = 240; // knftables NameLengthMax (256) − longest prefix (16)

/** kube-proxy's hashAndTruncate: `HASH8-name`, cut to 240 characters with `...`. */
function hashAndTruncate(name: string): string {
  const full = `${hashName(name, 8)}-${name}`;
  return full.length > MAX_BASE ? `${full.slice(0, MAX_BASE - 3)}...` : full;
}

/**
 * Names by the text they are hashed from, kept across builds as kube-proxy keeps a service
 * port's chain names for its lifetime: a build hashes only the names of service ports it has not
 * seen, and writes the same name strings as the last one.
 */
function nameCache<T>(make: (name: string) => T): (name: string) => T {
  const cache = new Map<string, T>();
  return (name) => {
    let v = cache.get(name);
    if (v === undefined) {
      if (cache.size >= NAME_CACHE_MAX) cache.clear();
      cache.set(name, (v = make(name)));
    }
    return v;
  };
}
const NAME_CACHE_MAX = 1_000_000;

/** `ns/name/proto/portName`, hashed: the base of a service port's chain names. */
export function servicePortChainBase(sp: Pick<ServicePortPlan, 'namespace' | 'serviceName' | 'protocol' | 'portName'>): string {
  return servicePortChainNames(sp).base;
}

/** `ns/name/proto/portName__ip/port` (IPv6 colons become dots), hashed. */
export function endpointChainBase(
  sp: Pick<ServicePortPlan, 'namespace' | 'serviceName' | 'protocol' | 'portName'>,
  ep: Pick<PlanEndpoint, 'ip' | 'port'>,
): string {
  return endpointNamesFor(sp, ep).base;
}

interface ServicePortNames {
  readonly base: string;
  readonly cluster: string;
  readonly local: string;
  readonly external: string;
  readonly firewall: string;
}

const servicePortNamesOf = nameCache((name): ServicePortNames => {
  const base = hashAndTruncate(name);
  return { base, cluster: `service-${base}`, local: `local-${base}`, external: `external-${base}`, firewall: `firewall-${base}` };
});

function servicePortChainNames(sp: Pick<ServicePortPlan, 'namespace' | 'serviceName' | 'protocol' | 'portName'>): ServicePortNames {
  return servicePortNamesOf(`${sp.namespace}/${sp.serviceName}/${sp.protocol.toLowerCase()}/${sp.portName}`);
}

/** An endpoint's object names, made once per build (the chain name is written several times). */
interface EndpointNames {
  readonly chain: string;
  readonly base: string;
}

/** The names of a service port's endpoints, by endpoint object. */
type EndpointNameMap = Map<PlanEndpoint, EndpointNames>;

const endpointNamesOf = nameCache((name): EndpointNames => {
  const base = hashAndTruncate(name);
  return { chain: `endpoint-${base}`, base };
});

/** An endpoint's names (`endpointChainBase`'s base). */
function endpointNamesFor(sp: Pick<ServicePortPlan, 'namespace' | 'serviceName' | 'protocol' | 'portName'>, ep: Pick<PlanEndpoint, 'ip' | 'port'>): EndpointNames {
  const ip = ep.ip.replaceAll(':', '.');
  return endpointNamesOf(`${sp.namespace}/${sp.serviceName}/${sp.protocol.toLowerCase()}/${sp.portName}__${ip}/${ep.port}`);
}

function endpointNames(sp: ServicePortPlan): EndpointNameMap {
  const names: EndpointNameMap = new Map();
  for (const ep of sp.endpoints) names.set(ep, endpointNamesFor(sp, ep));
  return names;
}

/** The names of `ep` (an endpoint of `sp`; one that is not the same object, as in a plan read back from JSON, is hashed again). */
function namesOf(names: EndpointNameMap, sp: ServicePortPlan, ep: PlanEndpoint): EndpointNames {
  let n = names.get(ep);
  if (!n) names.set(ep, (n = endpointNamesFor(sp, ep)));
  return n;
}

export function nftFamily(plan: Plan): NftFamily {
  return plan.family === 'IPv6' ? 'ip6' : 'ip';
}

const goto = (chain: string): Verdict => ({ kind: 'goto', chain });
const jump = (chain: string): Verdict => ({ kind: 'jump', chain });
const verdict = (v: Verdict): Statement => ({ kind: 'verdict', verdict: v });
const rule = (statements: Statement[], comment?: string): NftRule => (comment ? { statements, comment } : { statements });
const l4 = (sp: ServicePortPlan): L4Proto => sp.protocol.toLowerCase() as L4Proto;

/** What every service port's chains depend on besides the service port itself. */
interface BuildContext {
  readonly layout: NftLayout;
  readonly addrType: KeyType;
  readonly clusterCIDR: string | undefined;
  readonly masqueradeAll: boolean;
  /** `jump mark-for-masquerade` */
  readonly markMasqJump: Statement;
}

/** The elements of kube-proxy's verdict maps, collected over every service port. */
interface MapElements {
  readonly serviceIPs: NftMapElement[];
  readonly serviceNodePorts: NftMapElement[];
  readonly noEndpointServices: NftMapElement[];
  readonly noEndpointNodePorts: NftMapElement[];
  readonly firewallIPs: NftMapElement[];
  /** For the `cluster-ips` set (only written with `clusterIPsCheck`). */
  readonly clusterIPs: Set<string>;
}

/** One service port's objects: its chains and its (affinity) sets. */
interface ServicePortObjects {
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
}

/**
 * kpb's table built one service port at a time, for writers that need not hold the whole
 * ruleset (the nftnl full apply): `buildRuleset` is these parts put together.
 */
export interface RulesetStream {
  readonly family: NftFamily;
  readonly table: 'kube-proxy';
  readonly comment: string;
  /** The base and service-independent chains (before every service port's). */
  readonly fixedChains: readonly NftChain[];
  /** Number of sets before the service ports' (the `cluster-ips` set with `clusterIPsCheck`). */
  readonly leadingSetCount: number;
  /** Number of sets all service ports add (one affinity set per endpoint of an affinity service port). */
  readonly servicePortSetCount: number;
  /** Number of verdict maps `maps` returns. */
  readonly mapCount: number;
  /** Builds each service port's objects as it is consumed; once only. */
  servicePorts(): Generator<ServicePortObjects>;
  /** The sets before the service ports' sets: complete once `servicePorts` is consumed. */
  leadingSets(): NftSet[];
  /** The verdict maps: complete once `servicePorts` is consumed. */
  maps(): NftMap[];
}

/** kpb's table for a plan as a stream of parts (see `RulesetStream`). */
export function streamRuleset(plan: Plan, layoutOrOptions: NftLayout | BuildOptions = 'flat'): RulesetStream {
  const options: BuildOptions = typeof layoutOrOptions === 'string' ? { layout: layoutOrOptions } : layoutOrOptions;
  const clusterIPsCheck = options.clusterIPsCheck ?? false;
  const family = nftFamily(plan);
  const addrType: KeyType = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const mark = masqueradeMark(plan.settings);
  const ctx: BuildContext = {
    layout: options.layout ?? 'flat',
    addrType,
    clusterCIDR: plan.settings.clusterCIDR,
    masqueradeAll: plan.settings.masqueradeAll,
    markMasqJump: verdict(jump(NAMES.markMasq)),
  };
  const elements: MapElements = {
    serviceIPs: [],
    serviceNodePorts: [],
    noEndpointServices: [],
    noEndpointNodePorts: [],
    firewallIPs: [],
    clusterIPs: new Set(),
  };
  const fixed = fixedChains(family === 'ip' ? '127.0.0.0/8' : '::1', mark, clusterIPsCheck);
  const known = { chains: new Set(fixed.map((c) => c.name)), sets: new Set<string>([...MAP_NAMES, ...(clusterIPsCheck ? [NAMES.clusterIPs] : [])]) };
  refuseDanglingReferences({ chains: fixed, sets: [] }, [], known);
  let servicePortSetCount = 0;
  for (const sp of plan.servicePorts) if (sp.affinityTimeoutSeconds !== undefined) servicePortSetCount += sp.endpoints.length;
  return {
    family,
    table: 'kube-proxy',
    comment: 'rules for kube-proxy',
    fixedChains: fixed,
    leadingSetCount: clusterIPsCheck ? 1 : 0,
    servicePortSetCount,
    mapCount: MAP_LISTS.length,
    *servicePorts() {
      for (const sp of plan.servicePorts) {
        const before = mapElementCounts(elements);
        const objects = servicePortObjects(ctx, sp, elements);
        refuseDanglingReferences(objects, newMapElements(elements, before), known);
        yield objects;
      }
    },
    leadingSets: () =>
      clusterIPsCheck ? [{ name: NAMES.clusterIPs, keyType: [addrType], flags: [], comment: 'Active ClusterIPs', elements: [...elements.clusterIPs].map((ip) => [ip]) }] : [],
    maps: () => verdictMaps(addrType, elements),
  };
}

/** One service port's chains and sets; adds its map elements to `elements`. */
function servicePortObjects(ctx: BuildContext, sp: ServicePortPlan, elements: MapElements): ServicePortObjects {
  const chains: NftChain[] = [];
  const sets: NftSet[] = [];
  const names = servicePortChainNames(sp);
  const epNames = endpointNames(sp);
  addMapElements(sp, names, elements);
  policyChains(ctx, sp, names, epNames, chains);
  if (sp.flags.usesExternalChain) chains.push(externalChain(ctx, sp, names));
  if (sp.flags.usesFirewallChain) chains.push(firewallChain(ctx, sp, names));
  for (const ep of sp.endpoints) chains.push(endpointChain(ctx, sp, namesOf(epNames, sp, ep), ep, sets));
  return { chains, sets };
}

/** The names of the verdict maps, in `verdictMaps`' order, by their `MapElements` list. */
const MAP_LISTS = [
  ['serviceIPs', NAMES.serviceIPs],
  ['serviceNodePorts', NAMES.serviceNodePorts],
  ['noEndpointServices', NAMES.noEndpointServices],
  ['noEndpointNodePorts', NAMES.noEndpointNodePorts],
  ['firewallIPs', NAMES.firewallIPs],
] as const;
const MAP_NAMES = MAP_LISTS.map(([, name]) => name);

const mapElementCounts = (e: MapElements): number[] => MAP_LISTS.map(([list]) => e[list].length);

/** The map elements added since `before` (`mapElementCounts`), by map. */
function newMapElements(e: MapElements, before: readonly number[]): { name: string; elements: NftMapElement[] }[] {
  return MAP_LISTS.map(([list, name], i) => ({ name, elements: e[list].slice(before[i]) }));
}

/**
 * Throws when a service port's objects refer to a chain or set that is neither theirs nor one
 * of the table's fixed ones (a bug here: every name is made in this file).
 */
function refuseDanglingReferences(
  objects: ServicePortObjects,
  maps: readonly { name: string; elements: readonly NftMapElement[] }[],
  known: { readonly chains: ReadonlySet<string>; readonly sets: ReadonlySet<string> },
): void {
  const problems: string[] = [];
  const own = (list: readonly { name: string }[], name: string) => list.some((o) => o.name === name);
  referenceProblems(objects.chains, maps, {
    chain: (n) => known.chains.has(n) || own(objects.chains, n),
    set: (n) => known.sets.has(n) || own(objects.sets, n),
  }, problems);
  if (problems.length) throw new Error(`nft ruleset refers to missing objects: ${problems.slice(0, 5).join('; ')}`);
}

/** Build kpb's whole nftables table for a plan (references checked). */
export function buildRuleset(plan: Plan, layoutOrOptions: NftLayout | BuildOptions = 'flat'): NftRuleset {
  const stream = streamRuleset(plan, layoutOrOptions);
  const chains = [...stream.fixedChains];
  const sets: NftSet[] = [];
  for (const p of stream.servicePorts()) {
    for (const c of p.chains) chains.push(c);
    for (const s of p.sets) sets.push(s);
  }
  return { family: stream.family, table: stream.table, comment: stream.comment, chains, sets: [...stream.leadingSets(), ...sets], maps: stream.maps() };
}

/** The base chains and the service-independent regular chains, in kube-proxy's order. */
function fixedChains(loopback: string, mark: number, clusterIPsCheck: boolean): NftChain[] {
  const ctNewJump = (chain: string): NftRule => rule([{ kind: 'match-ct-new' }, verdict(jump(chain))]);
  const base = (name: string, type: 'filter' | 'nat', hook: ChainHook, priority: number, rules: NftRule[]): NftChain => ({
    name,
    base: { type, hook, priority, policy: 'accept' },
    rules,
  });
  return [
    base('filter-prerouting', 'filter', 'prerouting', DSTNAT - 10, [ctNewJump(NAMES.firewallCheck)]),
    base('filter-input', 'filter', 'input', DSTNAT - 10, [ctNewJump(NAMES.nodePortEndpointsCheck), ctNewJump(NAMES.serviceEndpointsCheck)]),
    base('filter-forward', 'filter', 'forward', DSTNAT - 10, [
      ctNewJump(NAMES.serviceEndpointsCheck),
      ...(clusterIPsCheck ? [ctNewJump(NAMES.clusterIPsCheck)] : []),
    ]),
    base('filter-output', 'filter', 'output', DSTNAT - 10, [ctNewJump(NAMES.serviceEndpointsCheck), ctNewJump(NAMES.firewallCheck)]),
    ...(clusterIPsCheck ? [base('filter-output-post-dnat', 'filter', 'output', DSTNAT + 10, [ctNewJump(NAMES.clusterIPsCheck)])] : []),
    base('nat-prerouting', 'nat', 'prerouting', DSTNAT, [rule([verdict(jump(NAMES.services))])]),
    base('nat-output', 'nat', 'output', DSTNAT, [rule([verdict(jump(NAMES.services))])]),
    base('nat-postrouting', 'nat', 'postrouting', SRCNAT, [rule([verdict(jump(NAMES.masquerading))])]),
    {
      name: NAMES.services,
      rules: [
        rule([{ kind: 'vmap', key: ['daddr', 'l4proto', 'dport'], map: NAMES.serviceIPs }]),
        rule([
          { kind: 'match-fib-local', field: 'daddr' },
          { kind: 'match-addr', field: 'daddr', op: '!=', value: loopback },
          { kind: 'vmap', key: ['l4proto', 'dport'], map: NAMES.serviceNodePorts },
        ]),
      ],
    },
    {
      name: NAMES.serviceEndpointsCheck,
      rules: [rule([{ kind: 'vmap', key: ['daddr', 'l4proto', 'dport'], map: NAMES.noEndpointServices }])],
    },
    {
      name: NAMES.nodePortEndpointsCheck,
      rules: [
        rule([
          { kind: 'match-addr', field: 'daddr', op: '!=', value: loopback },
          { kind: 'vmap', key: ['l4proto', 'dport'], map: NAMES.noEndpointNodePorts },
        ]),
      ],
    },
    { name: NAMES.firewallCheck, rules: [rule([{ kind: 'vmap', key: ['daddr', 'l4proto', 'dport'], map: NAMES.firewallIPs }])] },
    ...(clusterIPsCheck
      ? [{ name: NAMES.clusterIPsCheck, rules: [rule([{ kind: 'match-addr-in', field: 'daddr', set: NAMES.clusterIPs }, { kind: 'reject' }], 'Reject traffic to invalid ports of ClusterIPs')] } satisfies NftChain]
      : []),
    { name: NAMES.rejectChain, rules: [rule([{ kind: 'reject' }])] },
    { name: NAMES.markMasq, rules: [rule([{ kind: 'mark-or', mark }])] },
    {
      name: NAMES.masquerading,
      rules: [
        rule([{ kind: 'match-mark-clear', mark }, verdict({ kind: 'return' })]),
        rule([{ kind: 'mark-xor', mark }]),
        rule([{ kind: 'masquerade', fullyRandom: true }]),
      ],
    },
  ];
}

const filterVerdict = (f: 'REJECT' | 'DROP'): Verdict => (f === 'REJECT' ? goto(NAMES.rejectChain) : { kind: 'drop' });

/** A service port's entries in the verdict maps: where its addresses and node port lead. */
function addMapElements(sp: ServicePortPlan, names: ServicePortNames, out: MapElements): void {
  const { flags } = sp;
  const proto = l4(sp);
  const internalChain = flags.internalPolicy === 'local' ? names.local : names.cluster;
  out.clusterIPs.add(sp.clusterIP);
  const clusterKey: ElementKey = [sp.clusterIP, proto, sp.port];
  if (flags.hasInternalEndpoints) out.serviceIPs.push({ key: clusterKey, verdict: goto(internalChain) });
  else if (flags.internalFilter) out.noEndpointServices.push({ key: clusterKey, verdict: filterVerdict(flags.internalFilter) });
  if (sp.externalIPs.length > 0) addExternalElements(sp, sp.externalIPs, names, out);
  if (sp.loadBalancerIPs.length > 0) addExternalElements(sp, sp.loadBalancerIPs, names, out);
  if (flags.usesFirewallChain) {
    for (const ip of sp.loadBalancerIPs) out.firewallIPs.push({ key: [ip, proto, sp.port], verdict: goto(names.firewall) });
  }
  if (sp.nodePort !== undefined) {
    const key: ElementKey = [proto, sp.nodePort];
    if (flags.hasEndpoints) out.serviceNodePorts.push({ key, verdict: goto(names.external) });
    if (!flags.hasExternalEndpoints && flags.externalFilter) {
      out.noEndpointNodePorts.push({ key, verdict: filterVerdict(flags.externalFilter) });
    }
  }
}

/** External and load-balancer IPs lead to the external chain, or to the no-endpoint verdict. */
function addExternalElements(sp: ServicePortPlan, ips: readonly string[], names: ServicePortNames, out: MapElements): void {
  const { flags } = sp;
  const proto = l4(sp);
  for (const ip of ips) {
    if (flags.hasEndpoints) out.serviceIPs.push({ key: [ip, proto, sp.port], verdict: goto(names.external) });
    if (!flags.hasExternalEndpoints && flags.externalFilter) {
      out.noEndpointServices.push({ key: [ip, proto, sp.port], verdict: filterVerdict(flags.externalFilter) });
    }
  }
}

/** The cluster and local policy chains: masquerade of off-cluster ClusterIP traffic, then the endpoint choice. */
function policyChains(ctx: BuildContext, sp: ServicePortPlan, names: ServicePortNames, epNames: EndpointNameMap, out: NftChain[]): void {
  const { flags } = sp;
  const affinity = sp.affinityTimeoutSeconds !== undefined;
  // The masquerade rule heads the internal policy chain (cluster or local).
  let masq: NftRule | undefined;
  if (flags.hasInternalEndpoints && (ctx.masqueradeAll || ctx.clusterCIDR !== undefined)) {
    const head: Statement[] = [
      { kind: 'match-addr', field: 'daddr', op: '==', value: sp.clusterIP },
      { kind: 'match-dport', protocol: l4(sp), port: sp.port },
    ];
    masq = ctx.masqueradeAll
      ? rule([...head, ctx.markMasqJump])
      : rule([...head, { kind: 'match-addr', field: 'saddr', op: '!=', value: ctx.clusterCIDR! }, ctx.markMasqJump]);
  }
  const masqLocal = flags.internalPolicy === 'local';
  if (flags.usesClusterPolicyChain) {
    const rules = endpointRules(sp, epNames, sp.clusterEndpoints, ctx.layout, affinity);
    if (masq && !masqLocal) rules.unshift(masq);
    out.push({ name: names.cluster, rules });
  }
  if (flags.usesLocalPolicyChain) {
    const rules = endpointRules(sp, epNames, sp.localEndpoints, ctx.layout, affinity);
    if (masq && masqLocal) rules.unshift(masq);
    out.push({ name: names.local, rules });
  }
}

/** The external chain: masquerade (cluster policy) or keep pod and node sources apart (local policy). */
function externalChain(ctx: BuildContext, sp: ServicePortPlan, names: ServicePortNames): NftChain {
  const { flags } = sp;
  const rules: NftRule[] = [];
  if (flags.externalPolicy !== 'local') rules.push(rule([ctx.markMasqJump]));
  else {
    if (ctx.clusterCIDR !== undefined) {
      rules.push(rule([{ kind: 'match-addr', field: 'saddr', op: '==', value: ctx.clusterCIDR }, verdict(goto(names.cluster))], 'short-circuit pod traffic'));
    }
    rules.push(rule([{ kind: 'match-fib-local', field: 'saddr' }, ctx.markMasqJump], 'masquerade local traffic'));
    rules.push(rule([{ kind: 'match-fib-local', field: 'saddr' }, verdict(goto(names.cluster))], 'short-circuit local traffic'));
  }
  const externalPolicyChain = flags.externalPolicy === 'local' ? names.local : names.cluster;
  if (flags.hasExternalEndpoints) rules.push(rule([verdict(goto(externalPolicyChain))]));
  return { name: names.external, rules };
}

/** The firewall chain: load-balancer traffic from outside the source ranges is dropped. */
function firewallChain(ctx: BuildContext, sp: ServicePortPlan, names: ServicePortNames): NftChain {
  // nft prints a full-length prefix as a plain address: write it that way so the listing matches.
  const sources = [...sp.loadBalancerSourceRanges.map(plainHostPrefix), ...(sp.flags.firewallAllowsNode ? sp.loadBalancerIPs : [])];
  const rules: NftRule[] =
    ctx.layout === 'kube-proxy' || sources.length === 1
      ? [
          rule([
            sources.length === 1
              ? { kind: 'match-addr', field: 'saddr', op: '!=', value: sources[0]! }
              : { kind: 'match-addr-anon', field: 'saddr', op: '!=', values: sources },
            verdict({ kind: 'drop' }),
          ]),
        ]
      : [
          ...sources.map((s) => rule([{ kind: 'match-addr', field: 'saddr', op: '==', value: s }, verdict({ kind: 'return' })])),
          rule([verdict({ kind: 'drop' })]),
        ];
  return { name: names.firewall, rules };
}

/** An endpoint's chain (hairpin masquerade, affinity update, DNAT); adds its affinity set to `sets`. */
function endpointChain(ctx: BuildContext, sp: ServicePortPlan, names: EndpointNames, ep: PlanEndpoint, sets: NftSet[]): NftChain {
  const rules: NftRule[] = [rule([{ kind: 'match-addr', field: 'saddr', op: '==', value: ep.ip }, ctx.markMasqJump])];
  if (sp.affinityTimeoutSeconds !== undefined) {
    const set = `affinity-${names.base}`;
    sets.push({ name: set, keyType: [ctx.addrType], flags: ['dynamic', 'timeout'], timeoutSeconds: sp.affinityTimeoutSeconds, elements: [] });
    rules.push(rule([{ kind: 'set-update', set, field: 'saddr' }]));
  }
  rules.push(rule([{ kind: 'match-l4proto', protocol: l4(sp) }, { kind: 'dnat', addr: ep.ip, port: ep.port }]));
  return { name: names.chain, rules };
}

function verdictMaps(addrType: KeyType, e: MapElements): NftMap[] {
  const ipProtoPort: KeyType[] = [addrType, 'inet_proto', 'inet_service'];
  const protoPort: KeyType[] = ['inet_proto', 'inet_service'];
  return [
    { name: NAMES.serviceIPs, keyType: ipProtoPort, dataType: 'verdict', comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic', elements: e.serviceIPs },
    { name: NAMES.serviceNodePorts, keyType: protoPort, dataType: 'verdict', comment: 'NodePort traffic', elements: e.serviceNodePorts },
    { name: NAMES.noEndpointServices, keyType: ipProtoPort, dataType: 'verdict', comment: 'vmap to drop or reject packets to services with no endpoints', elements: e.noEndpointServices },
    { name: NAMES.noEndpointNodePorts, keyType: protoPort, dataType: 'verdict', comment: 'vmap to drop or reject packets to service nodeports with no endpoints', elements: e.noEndpointNodePorts },
    { name: NAMES.firewallIPs, keyType: ipProtoPort, dataType: 'verdict', comment: 'destinations that are subject to LoadBalancerSourceRanges', elements: e.firewallIPs },
  ];
}

/** Affinity checks, then the endpoint choice (one anonymous vmap, or chained numgen rules). */
function endpointRules(sp: ServicePortPlan, epNames: EndpointNameMap, endpoints: readonly PlanEndpoint[], layout: NftLayout, affinity: boolean): NftRule[] {
  const rules: NftRule[] = [];
  const n = endpoints.length;
  if (n === 0) return rules;
  const targets: EndpointNames[] = [];
  for (const ep of endpoints) targets.push(namesOf(epNames, sp, ep));
  if (affinity) {
    for (const t of targets) rules.push(rule([{ kind: 'match-addr-in', field: 'saddr', set: `affinity-${t.base}` }, verdict(goto(t.chain))]));
  }
  if (layout === 'kube-proxy') {
    rules.push(rule([{ kind: 'numgen-vmap', mod: n, targets: targets.map((t) => goto(t.chain)) }]));
  } else {
    // Endpoint i of n takes 1/(n−i) of what reaches it: uniform overall. The last is unconditional.
    for (let i = 0; i < n - 1; i++) {
      rules.push(rule([{ kind: 'match-numgen', mod: n - i, value: 0 }, verdict(goto(targets[i]!.chain))]));
    }
    rules.push(rule([verdict(goto(targets[n - 1]!.chain))]));
  }
  return rules;
}

/** `10.0.0.1/32` → `10.0.0.1` (and `/128` for IPv6); other CIDRs unchanged. */
function plainHostPrefix(cidr: string): string {
  if (cidr.endsWith('/32') && !cidr.includes(':')) return cidr.slice(0, -3);
  if (cidr.endsWith('/128')) return cidr.slice(0, -4);
  return cidr;
}
