/**
 * Plan → NftRuleset, following kube-proxy's nftables proxier (pkg/proxy/nftables/proxier.go,
 * KEP-3866). Pure: every decision is taken from the plan's flags.
 */
import { hashName } from '@kpb/backend';
import { masqueradeMark } from '@kpb/compiler';
import type { Plan, PlanEndpoint, ServicePortPlan } from '@kpb/compiler';
import type {
  ChainHook, ElementKey, KeyType, L4Proto, NftChain, NftDataMap, NftFamily, NftLayout, NftMap, NftMapElement, NftRule,
  NftRuleset, NftSet, Statement, Verdict,
} from './ruleset.ts';
import { addCommonElements, addFixedRules, commonServicePort, emptyCommonElements, mapsDataMaps, mapsSets } from './maps.ts';
import { COMMENT_RE, l4Proto, referenceProblems } from './ruleset.ts';
import type { ReferenceLookup } from './ruleset.ts';

export interface BuildOptions {
  /** `flat` (default), `kube-proxy` or `maps`. */
  readonly layout?: NftLayout;
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
  nodePortIPs: 'nodeport-ips',
} as const;

/** dstnat and srcnat priorities; filter chains run before DNAT (firewall) or at filter priority. */
const DSTNAT = -100;
const SRCNAT = 100;
const FILTER = 0;

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

const endpointNamesOf = nameCache((name): EndpointNames => {
  const base = hashAndTruncate(name);
  return { chain: `endpoint-${base}`, base };
});

/** An endpoint's names (`endpointChainBase`'s base). */
function endpointNamesFor(sp: Pick<ServicePortPlan, 'namespace' | 'serviceName' | 'protocol' | 'portName'>, ep: Pick<PlanEndpoint, 'ip' | 'port'>): EndpointNames {
  const ip = ep.ip.replaceAll(':', '.');
  return endpointNamesOf(`${sp.namespace}/${sp.serviceName}/${sp.protocol.toLowerCase()}/${sp.portName}__${ip}/${ep.port}`);
}

/** A service port's names and its endpoints' (by address), with what the names are made of besides. */
interface ServicePortEntry {
  readonly namespace: string;
  readonly serviceName: string;
  readonly protocol: ServicePortPlan['protocol'];
  readonly portName: string;
  readonly names: ServicePortNames;
  readonly endpoints: Map<string, { readonly ip: string; readonly port: number; readonly names: EndpointNames }>;
}

/**
 * The names of every service port built, by `sp.key`, and of its endpoints, by `ep.address`:
 * strings the compiler made once (their hashes are kept), looked up in small maps. The text the
 * names are hashed from would be a new ~60-character string per endpoint and build, looked up
 * in a map of every endpoint (~1 µs each at 10k services). What else the text is made of is
 * compared, so a changed protocol or target port gets its own names.
 */
const byServicePort = new Map<string, ServicePortEntry>();
let cachedEndpoints = 0;

function servicePortEntry(sp: ServicePortPlan): ServicePortEntry {
  const e = byServicePort.get(sp.key);
  if (e && e.namespace === sp.namespace && e.serviceName === sp.serviceName && e.protocol === sp.protocol && e.portName === sp.portName) return e;
  if (e) cachedEndpoints -= e.endpoints.size;
  if (byServicePort.size + cachedEndpoints >= NAME_CACHE_MAX) {
    byServicePort.clear();
    cachedEndpoints = 0;
  }
  const { namespace, serviceName, protocol, portName } = sp;
  const entry: ServicePortEntry = { namespace, serviceName, protocol, portName, names: servicePortChainNames(sp), endpoints: new Map() };
  byServicePort.set(sp.key, entry);
  return entry;
}

/** The names of `ep`, an endpoint of the service port of `entry`. */
function namesOf(entry: ServicePortEntry, ep: PlanEndpoint): EndpointNames {
  const e = entry.endpoints.get(ep.address);
  if (e && e.ip === ep.ip && e.port === ep.port) return e.names;
  if (!e) cachedEndpoints++;
  const names = endpointNamesFor(entry, ep);
  entry.endpoints.set(ep.address, { ip: ep.ip, port: ep.port, names });
  return names;
}

export function nftFamily(plan: Plan): NftFamily {
  return plan.family === 'IPv6' ? 'ip6' : 'ip';
}

const goto = (chain: string): Verdict => ({ kind: 'goto', chain });
const jump = (chain: string): Verdict => ({ kind: 'jump', chain });
const verdict = (v: Verdict): Statement => ({ kind: 'verdict', verdict: v });
const rule = (statements: Statement[], comment?: string): NftRule => (comment ? { statements, comment } : { statements });
const l4 = (sp: ServicePortPlan): L4Proto => l4Proto(sp.protocol);

/** What every service port's chains depend on besides the service port itself. */
interface BuildContext {
  readonly layout: NftLayout;
  readonly addrType: KeyType;
  readonly clusterCIDR: string | undefined;
  readonly masqueradeAll: boolean;
  /** `jump mark-for-masquerade` */
  readonly markMasqJump: Statement;
}

/** What the service-independent chains and sets depend on (`fixedChains`, `leadingSets`). */
interface FixedContext {
  readonly layout: NftLayout;
  readonly addrType: KeyType;
  /** 127.0.0.0/8 or ::1: never a NodePort address. */
  readonly loopback: string;
  readonly mark: number;
  /** The NodePort addresses (`nodeport-ips`), or every local address but loopback ('all'). */
  readonly nodePortIPs: 'all' | readonly string[];
  readonly serviceCIDRs: readonly string[];
}

/** The elements of kube-proxy's verdict maps, collected over every service port. */
interface MapElements {
  readonly serviceIPs: NftMapElement[];
  readonly serviceNodePorts: NftMapElement[];
  readonly noEndpointServices: NftMapElement[];
  readonly noEndpointNodePorts: NftMapElement[];
  readonly firewallIPs: NftMapElement[];
  /** For the `cluster-ips` set: every service port's ClusterIP, each once. */
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
  /** Number of sets before the service ports' (`cluster-ips`, and `nodeport-ips` unless NodePorts match every address). */
  readonly leadingSetCount: number;
  /** Number of sets all service ports add (one affinity set per endpoint of an affinity service port). */
  readonly servicePortSetCount: number;
  /** Number of verdict maps `maps` returns. */
  readonly mapCount: number;
  /** Number of data maps `dataMaps` returns (layout `maps`; 0 otherwise). */
  readonly dataMapCount: number;
  /** Builds each service port's objects as it is consumed; once only. */
  servicePorts(): Generator<ServicePortObjects>;
  /** The sets before the service ports' sets: complete once `servicePorts` is consumed. */
  leadingSets(): NftSet[];
  /** The verdict maps: complete once `servicePorts` is consumed. */
  maps(): NftMap[];
  /** The data maps (layout `maps`): complete once `servicePorts` is consumed. */
  dataMaps(): NftDataMap[];
}

/** kpb's table for a plan as a stream of parts (see `RulesetStream`). */
export function streamRuleset(plan: Plan, layoutOrOptions: NftLayout | BuildOptions = 'flat'): RulesetStream {
  const options: BuildOptions = typeof layoutOrOptions === 'string' ? { layout: layoutOrOptions } : layoutOrOptions;
  const family = nftFamily(plan);
  const addrType: KeyType = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const layout = options.layout ?? 'flat';
  const ctx: BuildContext = {
    layout,
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
  const fixedCtx: FixedContext = {
    layout,
    addrType,
    loopback: family === 'ip' ? '127.0.0.0/8' : '::1',
    mark: masqueradeMark(plan.settings),
    nodePortIPs: plan.nodePortIPs,
    serviceCIDRs: plan.serviceCIDRs,
  };
  const fixed = fixedChains(fixedCtx);
  const common = layout === 'maps' ? emptyCommonElements(plan) : undefined;
  if (common) {
    const nodePortHead = (fibLocal: boolean) => nodePortMatch(fixedCtx, fibLocal);
    addFixedRules(fixed, common, { mark: fixedCtx.mark, clusterCIDR: ctx.clusterCIDR, masqueradeAll: ctx.masqueradeAll, nodePortHead });
  }
  const commonSets = common ? mapsSets(addrType, common) : [];
  const commonDataMaps = common ? mapsDataMaps(addrType, common) : [];
  const leadingSetNames = [...(plan.nodePortIPs === 'all' ? [NAMES.clusterIPs] : [NAMES.clusterIPs, NAMES.nodePortIPs]), ...commonSets.map((x) => x.name)];
  const known = { chains: new Set(fixed.map((c) => c.name)), sets: new Set<string>([...MAP_NAMES, ...leadingSetNames, ...commonDataMaps.map((m) => m.name)]) };
  const references = new ReferenceCheck(known, elements);
  references.check({ chains: fixed, sets: [] });
  let servicePortSetCount = 0;
  for (const sp of plan.servicePorts) if (sp.affinityTimeoutSeconds !== undefined) servicePortSetCount += sp.endpoints.length;
  return {
    family,
    table: 'kube-proxy',
    comment: 'rules for kube-proxy',
    fixedChains: fixed,
    leadingSetCount: leadingSetNames.length,
    servicePortSetCount,
    mapCount: MAP_LISTS.length,
    dataMapCount: commonDataMaps.length,
    *servicePorts() {
      for (const sp of plan.servicePorts) {
        if (common && commonServicePort(sp)) {
          elements.clusterIPs.add(sp.clusterIP);
          addCommonElements(sp, common);
          continue;
        }
        references.mark();
        const objects = servicePortObjects(ctx, sp, elements);
        references.check(objects);
        yield objects;
      }
    },
    leadingSets: () => [...leadingSets(fixedCtx, elements.clusterIPs), ...(common ? mapsSets(addrType, common) : [])],
    maps: () => verdictMaps(addrType, elements),
    dataMaps: () => (common ? mapsDataMaps(addrType, common) : []),
  };
}

/** `cluster-ips` (every ClusterIP) and, unless NodePorts match every local address, `nodeport-ips`. */
function leadingSets(ctx: FixedContext, clusterIPs: ReadonlySet<string>): NftSet[] {
  const sets: NftSet[] = [{ name: NAMES.clusterIPs, keyType: [ctx.addrType], flags: [], comment: 'Active ClusterIPs', elements: [...clusterIPs].map((ip) => [ip]) }];
  if (ctx.nodePortIPs !== 'all') {
    // kube-proxy leaves loopback addresses out: its nftables mode has no localhost NodePorts.
    const ips = ctx.nodePortIPs.filter((ip) => !inLoopback(ip, ctx.loopback));
    sets.push({ name: NAMES.nodePortIPs, keyType: [ctx.addrType], flags: [], comment: 'IPs that accept NodePort traffic', elements: ips.map((ip) => [ip]) });
  }
  return sets;
}

/** Is `ip` a loopback address (`loopback` is 127.0.0.0/8 or ::1)? */
function inLoopback(ip: string, loopback: string): boolean {
  return loopback === '::1' ? ip === '::1' : ip.startsWith('127.');
}

/** One service port's chains and sets; adds its map elements to `elements`. */
function servicePortObjects(ctx: BuildContext, sp: ServicePortPlan, elements: MapElements): ServicePortObjects {
  const chains: NftChain[] = [];
  const sets: NftSet[] = [];
  const epNames = servicePortEntry(sp);
  const { names } = epNames;
  addMapElements(ctx, sp, names, elements);
  policyChains(ctx, sp, names, epNames, chains);
  if (sp.flags.usesExternalChain) chains.push(externalChain(ctx, sp, names));
  if (sp.flags.usesFirewallChain) chains.push(firewallChain(ctx, sp, names));
  for (const ep of sp.endpoints) chains.push(endpointChain(ctx, sp, namesOf(epNames, ep), ep, sets));
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

const hasName = (list: readonly { readonly name: string }[], name: string): boolean => {
  for (const o of list) if (o.name === name) return true;
  return false;
};

/**
 * Refuses service port objects that refer to a chain or set that is neither theirs nor one of
 * the table's fixed ones (a bug here: every name is made in this file). One per stream: checking
 * a service port allocates nothing unless a reference is missing.
 */
class ReferenceCheck {
  private objects: ServicePortObjects = { chains: [], sets: [] };
  /** The verdict maps' element lists (growing as service ports are built), and where the current service port's start. */
  private readonly maps: readonly { readonly name: string; readonly elements: readonly NftMapElement[] }[];
  private readonly starts: number[];
  private readonly has: ReferenceLookup;
  private readonly problems: string[] = [];

  constructor(known: { readonly chains: ReadonlySet<string>; readonly sets: ReadonlySet<string> }, elements: MapElements) {
    this.maps = MAP_LISTS.map(([list, name]) => ({ name, elements: elements[list] }));
    this.starts = MAP_LISTS.map(() => 0);
    this.has = {
      chain: (n) => known.chains.has(n) || hasName(this.objects.chains, n),
      set: (n) => known.sets.has(n) || hasName(this.objects.sets, n),
    };
  }

  /** Before a service port's objects are built: its map elements start here. */
  mark(): void {
    for (let i = 0; i < this.maps.length; i++) this.starts[i] = this.maps[i]!.elements.length;
  }

  /** Throws when `objects`, or the map elements added since `mark`, refer to a missing chain or set. */
  check(objects: ServicePortObjects): void {
    this.objects = objects;
    referenceProblems(objects.chains, this.maps, this.has, this.problems, this.starts);
    if (this.problems.length) throw new Error(`nft ruleset refers to missing objects: ${this.problems.slice(0, 5).join('; ')}`);
  }
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
  const dataMaps = stream.dataMaps();
  return {
    family: stream.family,
    table: stream.table,
    comment: stream.comment,
    chains,
    sets: [...stream.leadingSets(), ...sets],
    maps: stream.maps(),
    ...(dataMaps.length > 0 ? { dataMaps } : {}),
  };
}

const ctNewJump = (chain: string): NftRule => rule([{ kind: 'match-ct-new' }, verdict(jump(chain))]);

/**
 * The base chains, in kube-proxy's (pkg/proxy/nftables) order and priorities: the firewall check
 * before DNAT (-110), the endpoint and ClusterIP checks at filter priority (0, after DNAT in the
 * output hook, so that only traffic no service took reaches cluster-ips-check).
 */
function baseChains(): NftChain[] {
  const base = (name: string, type: 'filter' | 'nat', hook: ChainHook, priority: number, rules: NftRule[]): NftChain => ({
    name,
    base: { type, hook, priority, policy: 'accept' },
    rules,
  });
  return [
    base('filter-prerouting-pre-dnat', 'filter', 'prerouting', DSTNAT - 10, [ctNewJump(NAMES.firewallCheck)]),
    base('filter-output-pre-dnat', 'filter', 'output', DSTNAT - 10, [ctNewJump(NAMES.firewallCheck)]),
    base('filter-forward', 'filter', 'forward', FILTER, [ctNewJump(NAMES.serviceEndpointsCheck), ctNewJump(NAMES.clusterIPsCheck)]),
    base('filter-input', 'filter', 'input', FILTER, [ctNewJump(NAMES.nodePortEndpointsCheck), ctNewJump(NAMES.serviceEndpointsCheck)]),
    base('filter-output', 'filter', 'output', FILTER, [ctNewJump(NAMES.serviceEndpointsCheck), ctNewJump(NAMES.clusterIPsCheck)]),
    base('nat-prerouting', 'nat', 'prerouting', DSTNAT, [rule([verdict(jump(NAMES.services))])]),
    base('nat-output', 'nat', 'output', DSTNAT, [rule([verdict(jump(NAMES.services))])]),
    base('nat-postrouting', 'nat', 'postrouting', SRCNAT, [rule([verdict(jump(NAMES.masquerading))])]),
  ];
}

/**
 * The head of the NodePort rules: the `nodeport-ips` set, or every local address but loopback
 * (`services` adds `fib daddr type local`; nodeport-endpoints-check runs in the input hook,
 * where every destination is local).
 */
function nodePortMatch(ctx: FixedContext, fibLocal: boolean): Statement[] {
  if (ctx.nodePortIPs !== 'all') return [{ kind: 'match-addr-in', field: 'daddr', set: NAMES.nodePortIPs }];
  const notLoopback: Statement = { kind: 'match-addr', field: 'daddr', op: '!=', value: ctx.loopback };
  return fibLocal ? [{ kind: 'match-fib-local', field: 'daddr' }, notLoopback] : [notLoopback];
}

/**
 * cluster-ips-check: reject traffic to a ClusterIP on a port no service serves, drop traffic to
 * an address of the service CIDRs that no service holds. `kube-proxy` writes the CIDRs as one
 * anonymous set, as kube-proxy does; `flat` one rule per CIDR (no anonymous set).
 */
function clusterIPsCheckChain(ctx: FixedContext): NftChain {
  const rules = [rule([{ kind: 'match-addr-in', field: 'daddr', set: NAMES.clusterIPs }, { kind: 'reject' }], 'Reject traffic to invalid ports of ClusterIPs')];
  const dropComment = 'Drop traffic to unallocated ClusterIPs';
  const drop = verdict({ kind: 'drop' });
  if (ctx.serviceCIDRs.length > 0 && ctx.layout === 'kube-proxy') {
    rules.push(rule([{ kind: 'match-addr-anon', field: 'daddr', op: '==', values: ctx.serviceCIDRs }, drop], dropComment));
  } else {
    for (const cidr of ctx.serviceCIDRs) rules.push(rule([{ kind: 'match-addr', field: 'daddr', op: '==', value: cidr }, drop], dropComment));
  }
  return { name: NAMES.clusterIPsCheck, rules };
}

/** The base chains and the service-independent regular chains. */
function fixedChains(ctx: FixedContext): NftChain[] {
  const { mark } = ctx;
  const rejectComment = ctx.layout === 'kube-proxy' ? { comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports' } : {};
  return [
    ...baseChains(),
    {
      name: NAMES.services,
      rules: [
        rule([{ kind: 'vmap', key: ['daddr', 'l4proto', 'dport'], map: NAMES.serviceIPs }]),
        rule([...nodePortMatch(ctx, true), { kind: 'vmap', key: ['l4proto', 'dport'], map: NAMES.serviceNodePorts }]),
      ],
    },
    {
      name: NAMES.serviceEndpointsCheck,
      rules: [rule([{ kind: 'vmap', key: ['daddr', 'l4proto', 'dport'], map: NAMES.noEndpointServices }])],
    },
    {
      name: NAMES.nodePortEndpointsCheck,
      rules: [rule([...nodePortMatch(ctx, false), { kind: 'vmap', key: ['l4proto', 'dport'], map: NAMES.noEndpointNodePorts }])],
    },
    { name: NAMES.firewallCheck, rules: [rule([{ kind: 'vmap', key: ['daddr', 'l4proto', 'dport'], map: NAMES.firewallIPs }])] },
    clusterIPsCheckChain(ctx),
    { name: NAMES.rejectChain, ...rejectComment, rules: [rule([{ kind: 'reject' }])] },
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

/**
 * The comment of a service port's no-endpoint elements: kube-proxy's service port name
 * (`ns/svc:port`), in the `kube-proxy` layout only, and only when nft takes it (128 characters).
 */
function noEndpointComment(ctx: BuildContext, sp: ServicePortPlan): { comment: string } | Record<string, never> {
  return ctx.layout === 'kube-proxy' && COMMENT_RE.test(sp.key) ? { comment: sp.key } : {};
}

/** A service port's entries in the verdict maps: where its addresses and node port lead. */
function addMapElements(ctx: BuildContext, sp: ServicePortPlan, names: ServicePortNames, out: MapElements): void {
  const { flags } = sp;
  const proto = l4(sp);
  const internalChain = flags.internalPolicy === 'local' ? names.local : names.cluster;
  const comment = noEndpointComment(ctx, sp);
  out.clusterIPs.add(sp.clusterIP);
  const clusterKey: ElementKey = [sp.clusterIP, proto, sp.port];
  if (flags.hasInternalEndpoints) out.serviceIPs.push({ key: clusterKey, verdict: goto(internalChain) });
  else if (flags.internalFilter) out.noEndpointServices.push({ key: clusterKey, ...comment, verdict: filterVerdict(flags.internalFilter) });
  if (sp.externalIPs.length > 0) addExternalElements(sp, sp.externalIPs, names, comment, out);
  if (sp.loadBalancerIPs.length > 0) addExternalElements(sp, sp.loadBalancerIPs, names, comment, out);
  if (flags.usesFirewallChain) {
    for (const ip of sp.loadBalancerIPs) out.firewallIPs.push({ key: [ip, proto, sp.port], verdict: goto(names.firewall) });
  }
  if (sp.nodePort !== undefined) {
    const key: ElementKey = [proto, sp.nodePort];
    if (flags.hasEndpoints) out.serviceNodePorts.push({ key, verdict: goto(names.external) });
    if (!flags.hasExternalEndpoints && flags.externalFilter) {
      out.noEndpointNodePorts.push({ key, ...comment, verdict: filterVerdict(flags.externalFilter) });
    }
  }
}

/** External and load-balancer IPs lead to the external chain, or to the no-endpoint verdict. */
function addExternalElements(sp: ServicePortPlan, ips: readonly string[], names: ServicePortNames, comment: { comment?: string }, out: MapElements): void {
  const { flags } = sp;
  const proto = l4(sp);
  for (const ip of ips) {
    if (flags.hasEndpoints) out.serviceIPs.push({ key: [ip, proto, sp.port], verdict: goto(names.external) });
    if (!flags.hasExternalEndpoints && flags.externalFilter) {
      out.noEndpointServices.push({ key: [ip, proto, sp.port], ...comment, verdict: filterVerdict(flags.externalFilter) });
    }
  }
}

/** The cluster and local policy chains: masquerade of off-cluster ClusterIP traffic, then the endpoint choice. */
function policyChains(ctx: BuildContext, sp: ServicePortPlan, names: ServicePortNames, epNames: ServicePortEntry, out: NftChain[]): void {
  const { flags } = sp;
  const affinity = sp.affinityTimeoutSeconds !== undefined;
  // The masquerade rule heads the internal policy chain (cluster or local).
  let masq: NftRule | undefined;
  if (flags.hasInternalEndpoints && (ctx.masqueradeAll || ctx.clusterCIDR !== undefined)) {
    // Only the service-ips element of this service port leads here with the ClusterIP as
    // destination, so the port needs no match (kube-proxy writes none either).
    const head: Statement[] = [{ kind: 'match-addr', field: 'daddr', op: '==', value: sp.clusterIP }];
    masq = ctx.masqueradeAll
      ? rule([...head, ctx.markMasqJump])
      : rule([...head, { kind: 'match-addr', field: 'saddr', op: '!=', value: ctx.clusterCIDR! }, ctx.markMasqJump]);
  }
  const masqLocal = flags.internalPolicy === 'local';
  if (flags.usesClusterPolicyChain) {
    const rules = endpointRules(epNames, sp.clusterEndpoints, ctx.layout, affinity);
    if (masq && !masqLocal) rules.unshift(masq);
    out.push({ name: names.cluster, rules });
  }
  if (flags.usesLocalPolicyChain) {
    const rules = endpointRules(epNames, sp.localEndpoints, ctx.layout, affinity);
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
  // kube-proxy writes an anonymous set, even of one source; flat a plain match for one source.
  const rules: NftRule[] =
    ctx.layout === 'kube-proxy' || sources.length === 1
      ? [
          rule([
            ctx.layout === 'kube-proxy'
              ? { kind: 'match-addr-anon', field: 'saddr', op: '!=', values: sources }
              : { kind: 'match-addr', field: 'saddr', op: '!=', value: sources[0]! },
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
function endpointRules(epNames: ServicePortEntry, endpoints: readonly PlanEndpoint[], layout: NftLayout, affinity: boolean): NftRule[] {
  const rules: NftRule[] = [];
  const n = endpoints.length;
  if (n === 0) return rules;
  const targets: EndpointNames[] = [];
  for (const ep of endpoints) targets.push(namesOf(epNames, ep));
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
