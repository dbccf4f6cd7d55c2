/**
 * Plan → kube-proxy iptables-mode rules (pure). Every rule is written in the canonical form
 * iptables-save prints back (header options `-s`, `-d`, `-p` first, host addresses with a
 * prefix length, comments always quoted, MARK as `--set-xmark`, REJECT with its default
 * `--reject-with`, `recent` with its defaults), so that the kernel's read-back compares as text.
 * The one exception is the statistic probability: kube-proxy's 10 decimals are kept here and
 * iptables-save's 11-decimal print-out is normalised on read-back.
 */
import type { Plan, ServicePortPlan, PlanEndpoint } from '@kpb/compiler';
import { hexMark, hostCIDR, probability, quote } from './canonical.ts';
import {
  BUILTIN_CHAINS, KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL, KUBE_SERVICES, TABLES, TOP_LEVEL_CHAINS, endpointChainOf, endpointChainsOf, portProto, servicePortHash,
  type EndpointChains,
  type TableName,
} from './names.ts';

/** kube-proxy drops per-rule endpoint comments above this many endpoints. */
const LARGE_CLUSTER_ENDPOINTS = 1000;

export interface RenderedTable {
  /** Rule lines (`-A CHAIN …`) of every chain kpb writes, built-in chains included, in order. */
  readonly rules: Map<string, string[]>;
  /** kpb's own chains, sorted the way iptables-save lists them. */
  readonly chains: readonly string[];
}

export interface RenderedRuleset {
  readonly filter: RenderedTable;
  readonly nat: RenderedTable;
  /** The nat chains each service port owns (by service port key). */
  readonly servicePortChains: ReadonlyMap<string, readonly string[]>;
  /** Per-rule endpoint comments dropped (kube-proxy's large-cluster mode). */
  readonly largeCluster: boolean;
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The jumps kube-proxy puts in the built-in chains, in the order they end up (each is
 * prepended); the KUBE-FIREWALL jumps (localhost NodePorts) come after them, where kubelet and
 * kube-proxy append them.
 */
function builtinJumps(table: TableName, localhostNodePorts: boolean): Map<string, string[]> {
  const newState = '-m conntrack --ctstate NEW ';
  const c = (text: string) => `-m comment --comment ${quote(text)}`;
  if (table === 'filter') {
    const firewall = `${newState}${c('kubernetes load balancer firewall')} -j ${KUBE_PROXY_FIREWALL}`;
    const external = `${newState}${c('kubernetes externally-visible service portals')} -j ${KUBE_EXTERNAL_SERVICES}`;
    const services = `${newState}${c('kubernetes service portals')} -j ${KUBE_SERVICES}`;
    const localnet = (chain: string) => (localhostNodePorts ? [`-A ${chain} -j ${KUBE_FIREWALL}`] : []);
    return new Map([
      ['INPUT', [`-A INPUT ${firewall}`, `-A INPUT ${c('kubernetes health check service ports')} -j ${KUBE_NODEPORTS}`, `-A INPUT ${external}`, ...localnet('INPUT')]],
      ['FORWARD', [`-A FORWARD ${firewall}`, `-A FORWARD ${c('kubernetes forwarding rules')} -j ${KUBE_FORWARD}`, `-A FORWARD ${services}`, `-A FORWARD ${external}`]],
      ['OUTPUT', [`-A OUTPUT ${firewall}`, `-A OUTPUT ${services}`, ...localnet('OUTPUT')]],
    ]);
  }
  return new Map([
    ['PREROUTING', [`-A PREROUTING ${c('kubernetes service portals')} -j ${KUBE_SERVICES}`]],
    ['INPUT', []],
    ['OUTPUT', [`-A OUTPUT ${c('kubernetes service portals')} -j ${KUBE_SERVICES}`]],
    ['POSTROUTING', [`-A POSTROUTING ${c('kubernetes postrouting rules')} -j ${KUBE_POSTROUTING}`]],
  ]);
}

/** What every service port's rules depend on besides the service port itself. */
interface RenderContext {
  /** Per-rule endpoint comments dropped. */
  readonly largeCluster: boolean;
  readonly clusterCIDR: string | undefined;
  readonly masqueradeAll: boolean;
  readonly rejectTarget: string;
  /** `-m recent --mask`: the whole address. */
  readonly recentMask: string;
}

/** Rule lines by chain, in the order each chain was first written to. */
type ChainLines = Map<string, string[]>;

/** Where rendering writes: kpb's shared chains of each table, and every service port's own nat chains. */
interface RuleSink {
  /** kpb's shared filter chains (KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, …). */
  readonly filter: ChainLines;
  /** kpb's shared nat chains (KUBE-SERVICES, KUBE-NODEPORTS). */
  readonly nat: ChainLines;
  /** The nat chains the service ports own (KUBE-SVC-, KUBE-EXT-, KUBE-SEP-, …), with their rules. */
  readonly own: ChainLines;
}

/** One service port's own chains while it is rendered: lines go to the sink, first writes are recorded. */
interface OwnChains {
  readonly lines: ChainLines;
  /** The chains this service port wrote first, in that order. */
  readonly names: string[];
}

/**
 * Append a rule line, flattened: V8 builds a template string as a tree of its pieces and copies
 * it into one string when a character is read. Doing that now, while the pieces are fresh,
 * keeps the join of the whole text from chasing ~10 scattered pieces per line (the join was
 * ~23% of rendering at 10k services) and leaves the pieces as short-lived garbage.
 */
function addLine(list: string[], line: string): void {
  list.push(flat(line));
}

/** `text` copied into one string (see addLine). */
function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}

/** The rule list of `chain`, created empty on first use. */
function linesOf(lines: ChainLines, chain: string): string[] {
  let list = lines.get(chain);
  if (!list) lines.set(chain, (list = []));
  return list;
}

/** The rule list of a chain the service port owns, recorded as its own on first use. */
function ownLines(own: OwnChains, chain: string): string[] {
  let list = own.lines.get(chain);
  if (!list) {
    own.lines.set(chain, (list = []));
    own.names.push(chain);
  }
  return list;
}

/** kube-proxy's large-cluster mode: per-rule endpoint comments dropped. */
export function isLargeCluster(plan: Plan): boolean {
  return plan.endpointCount > LARGE_CLUSTER_ENDPOINTS;
}

function renderContext(plan: Plan): RenderContext {
  const ipv6 = plan.family === 'IPv6';
  return {
    largeCluster: isLargeCluster(plan),
    clusterCIDR: plan.settings.clusterCIDR,
    masqueradeAll: plan.settings.masqueradeAll,
    rejectTarget: ipv6 ? 'REJECT --reject-with icmp6-port-unreachable' : 'REJECT --reject-with icmp-port-unreachable',
    recentMask: ipv6 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255',
  };
}

/** Render service ports into `sink`; returns the nat chains each one owns (by service port key). */
function renderServicePortsInto(ctx: RenderContext, servicePorts: readonly ServicePortPlan[], sink: RuleSink): Map<string, string[]> {
  const servicePortChains = new Map<string, string[]>();
  for (const sp of servicePorts) {
    const own: OwnChains = { lines: sink.own, names: [] };
    servicePortRules(ctx, sp, sink, own);
    servicePortChains.set(sp.key, own.names);
  }
  return servicePortChains;
}

/** The rules some service ports contribute (kube-proxy's partial sync renders only the changed ones). */
export interface ServicePortsRules {
  /** Their lines in kpb's shared filter and nat chains, in service port order. */
  readonly filter: ReadonlyMap<string, readonly string[]>;
  readonly nat: ReadonlyMap<string, readonly string[]>;
  /** The nat chains they own, with their rules. */
  readonly own: ReadonlyMap<string, readonly string[]>;
  /** The nat chains each one owns (by service port key). */
  readonly servicePortChains: ReadonlyMap<string, readonly string[]>;
}

/** The rules of `servicePorts` alone, rendered as part of `plan`. */
export function renderServicePorts(plan: Plan, servicePorts: readonly ServicePortPlan[]): ServicePortsRules {
  const sink: RuleSink = { filter: new Map(), nat: new Map(), own: new Map() };
  const servicePortChains = renderServicePortsInto(renderContext(plan), servicePorts, sink);
  return { ...sink, servicePortChains };
}

/** kpb's top-level chains (TOP_LEVEL_CHAINS) with their rules, from the shared lines of every service port. */
function topLevelRules(plan: Plan, filterShared: ChainLines, natShared: ChainLines): Record<TableName, ChainLines> {
  const mark = hexMark((1 << plan.settings.masqueradeBit) >>> 0);
  for (const line of nodePortJumps(plan)) addLine(linesOf(natShared, KUBE_SERVICES), line);
  const shared = (lines: ChainLines, chain: string) => lines.get(chain) ?? [];
  const filter: ChainLines = new Map([
    [KUBE_SERVICES, shared(filterShared, KUBE_SERVICES)],
    [KUBE_EXTERNAL_SERVICES, shared(filterShared, KUBE_EXTERNAL_SERVICES)],
    [KUBE_FORWARD, forwardRules(mark)],
    [KUBE_NODEPORTS, shared(filterShared, KUBE_NODEPORTS)],
    [KUBE_PROXY_FIREWALL, shared(filterShared, KUBE_PROXY_FIREWALL)],
  ]);
  const nat: ChainLines = new Map([
    [KUBE_SERVICES, shared(natShared, KUBE_SERVICES)],
    [KUBE_NODEPORTS, shared(natShared, KUBE_NODEPORTS)],
    [KUBE_POSTROUTING, postroutingRules(mark)],
    [KUBE_MARK_MASQ, [`-A ${KUBE_MARK_MASQ} -j MARK --set-xmark ${mark}/${mark}`]],
  ]);
  return { filter, nat };
}

/**
 * The last rules of nat KUBE-SERVICES: traffic to the addresses that accept NodePorts goes on to
 * KUBE-NODEPORTS (kube-proxy's --nodeport-addresses). Every local address: one addrtype rule,
 * without loopback unless localhost NodePorts are on (IPv6 never has them; `! -d` is a header
 * option); chosen addresses: one rule each, loopback only with localhost NodePorts.
 */
function nodePortJumps(plan: Plan): string[] {
  const ipv6 = plan.family === 'IPv6';
  const comment = '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
  if (plan.nodePortIPs === 'all') {
    const notLoopback = ipv6 ? ' ! -d ::1/128' : plan.localhostNodePorts ? '' : ' ! -d 127.0.0.0/8';
    return [`-A ${KUBE_SERVICES}${notLoopback} ${comment} -m addrtype --dst-type LOCAL -j ${KUBE_NODEPORTS}`];
  }
  const loopback = (ip: string) => ip === '::1' || ip.startsWith('127.');
  return plan.nodePortIPs
    .filter((ip) => !loopback(ip) || (!ipv6 && plan.localhostNodePorts))
    .map((ip) => `-A ${KUBE_SERVICES} -d ${hostCIDR(ip)} ${comment} -j ${KUBE_NODEPORTS}`);
}

/** kube-proxy's KUBE-FIREWALL (localhost NodePorts): nobody but the node itself opens connections to 127.0.0.0/8. */
const LOCALNET_RULE =
  `-A ${KUBE_FIREWALL} ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`;

/**
 * kpb's top-level chains for `plan` with their rules, rendering only what the service ports
 * write into them (a partial sync rewrites these in full). `withNat` false: nat's
 * SHARED_NAT_CHAINS are not wanted (and left out), so only the service ports that write into
 * filter are rendered.
 */
export function renderTopLevel(plan: Plan, withNat: boolean): Record<TableName, ReadonlyMap<string, readonly string[]>> {
  const ctx = renderContext(plan);
  const filter: ChainLines = new Map();
  const nat: ChainLines = new Map();
  for (const sp of plan.servicePorts) {
    if (withNat || writesFilter(sp)) sharedChainRules(ctx, sp, servicePortParts(sp), filter, nat);
  }
  const top = topLevelRules(plan, filter, nat);
  if (!withNat) for (const chain of SHARED_NAT_CHAINS) top.nat.delete(chain);
  return top;
}

/** The nat top-level chains that hold the service ports' lines (the others depend on the node settings alone). */
export const SHARED_NAT_CHAINS: readonly string[] = [KUBE_SERVICES, KUBE_NODEPORTS];

/** Render a plan into per-table, per-chain rule lists. */
export function renderRuleset(plan: Plan): RenderedRuleset {
  const ctx = renderContext(plan);
  const filterRules = builtinJumps('filter', plan.localhostNodePorts);
  const natRules = builtinJumps('nat', false);
  const sink: RuleSink = { filter: new Map(), nat: new Map(), own: natRules };
  const servicePortChains = renderServicePortsInto(ctx, plan.servicePorts, sink);
  const natChains: string[] = [...TOP_LEVEL_CHAINS.nat];
  for (const owned of servicePortChains.values()) for (const chain of owned) natChains.push(chain);

  const top = topLevelRules(plan, sink.filter, sink.nat);
  for (const [chain, lines] of top.filter) filterRules.set(chain, lines);
  for (const [chain, lines] of top.nat) natRules.set(chain, lines);
  // KUBE-FIREWALL depends on the node settings alone: a partial sync (same settings) leaves it be.
  if (plan.localhostNodePorts) filterRules.set(KUBE_FIREWALL, [LOCALNET_RULE]);
  // The default sort orders strings by UTF-16 code units, as compareNames does.
  const filterChains = [...TOP_LEVEL_CHAINS.filter, ...(plan.localhostNodePorts ? [KUBE_FIREWALL] : [])].sort();
  return {
    filter: { rules: filterRules, chains: filterChains },
    nat: { rules: natRules, chains: natChains.sort() },
    servicePortChains,
    largeCluster: ctx.largeCluster,
  };
}

function forwardRules(mark: string): string[] {
  return [
    `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP`,
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  ];
}

function postroutingRules(mark: string): string[] {
  return [
    `-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A ${KUBE_POSTROUTING} -j MARK --set-xmark ${mark}/0x0`,
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
  ];
}

/** A service port's chain names and the rule fragments its rules share. */
interface ServicePortParts {
  readonly name: string;
  readonly proto: string;
  readonly svcChain: string;
  readonly svlChain: string;
  readonly extChain: string;
  readonly fwChain: string;
  /** Where cluster-IP traffic goes: the cluster or the local policy chain. */
  readonly internalChain: string;
  /** Where external traffic goes after KUBE-EXT-: the cluster or the local policy chain. */
  readonly externalPolicyChain: string;
  /** Where load-balancer traffic goes: the firewall chain when source ranges apply. */
  readonly lbChain: string;
  /** ` -m tcp --dport 80` */
  readonly dport: string;
  /** ` -p tcp` */
  readonly pproto: string;
  readonly clusterIP: string;
  /** The service port's endpoint chain names. */
  readonly endpointChains: EndpointChains;
}

function servicePortParts(sp: ServicePortPlan): ServicePortParts {
  const f = sp.flags;
  const proto = sp.protocol.toLowerCase();
  const hash = servicePortHash(sp.key, sp.protocol);
  const svcChain = flat('KUBE-SVC-' + hash);
  const svlChain = flat('KUBE-SVL-' + hash);
  const extChain = flat('KUBE-EXT-' + hash);
  const fwChain = flat('KUBE-FW-' + hash);
  return {
    name: sp.key,
    proto,
    svcChain,
    svlChain,
    extChain,
    fwChain,
    internalChain: f.internalPolicy === 'local' ? svlChain : svcChain,
    externalPolicyChain: f.externalPolicy === 'local' ? svlChain : svcChain,
    lbChain: f.usesFirewallChain ? fwChain : extChain,
    dport: ` -m ${proto} --dport ${sp.port}`,
    pproto: ` -p ${proto}`,
    clusterIP: hostCIDR(sp.clusterIP),
    endpointChains: endpointChainsOf(flat(portProto(sp.key, sp.protocol))),
  };
}

/** The per-service-port emitter: every rule one service port needs, in kube-proxy's order. */
function servicePortRules(ctx: RenderContext, sp: ServicePortPlan, sink: RuleSink, own: OwnChains): void {
  const n = servicePortParts(sp);
  sharedChainRules(ctx, sp, n, sink.filter, sink.nat);
  masqueradeRules(ctx, sp, n, own);
  if (sp.flags.usesExternalChain) externalChainRules(ctx, sp, n, own);
  if (sp.flags.usesFirewallChain) firewallChainRules(sp, n, own);
  if (sp.flags.usesClusterPolicyChain) balanceRules(ctx, sp, n, n.svcChain, sp.clusterEndpoints, own);
  if (sp.flags.usesLocalPolicyChain) balanceRules(ctx, sp, n, n.svlChain, sp.localEndpoints, own);
  endpointChainRules(ctx, sp, n, own);
}

/**
 * Whether sharedChainRules may write filter lines for the service port (no endpoints for some
 * traffic, a firewall chain, a health-check node port); false: nat lines only.
 */
function writesFilter(sp: ServicePortPlan): boolean {
  const f = sp.flags;
  return !f.hasInternalEndpoints || !f.hasExternalEndpoints || f.usesFirewallChain || sp.healthCheckNodePort !== undefined;
}

/** What a service port writes into kpb's shared filter and nat chains. */
function sharedChainRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, filter: ChainLines, nat: ChainLines): void {
  addressRules(ctx, sp, n, filter, nat);
  nodePortRules(ctx, sp, n, filter, nat);
}

/** The filter rule for traffic the service port has no (local) endpoints for. */
function noEndpointsRule(ctx: RenderContext, n: ServicePortParts, head: string, match: string, filter: 'REJECT' | 'DROP' | undefined): string {
  const comment = quote(filter === 'REJECT' ? `${n.name} has no endpoints` : `${n.name} has no local endpoints`);
  return `${head} -m comment --comment ${comment}${match} -j ${filter === 'REJECT' ? ctx.rejectTarget : 'DROP'}`;
}

/** Rules for the cluster IP, external IPs and load-balancer IPs in the shared chains. */
function addressRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, filter: ChainLines, nat: ChainLines): void {
  const f = sp.flags;
  const { name, pproto, dport } = n;
  const fExternal = (d: string) => noEndpointsRule(ctx, n, `-A ${KUBE_EXTERNAL_SERVICES} -d ${d}${pproto}`, dport, f.externalFilter);
  if (f.hasInternalEndpoints) {
    addLine(linesOf(nat, KUBE_SERVICES), `-A ${KUBE_SERVICES} -d ${n.clusterIP}${pproto} -m comment --comment ${quote(`${name} cluster IP`)}${dport} -j ${n.internalChain}`);
  } else {
    addLine(linesOf(filter, KUBE_SERVICES), noEndpointsRule(ctx, n, `-A ${KUBE_SERVICES} -d ${n.clusterIP}${pproto}`, dport, f.internalFilter));
  }
  for (const ip of sp.externalIPs) {
    const d = hostCIDR(ip);
    if (f.hasEndpoints) {
      addLine(linesOf(nat, KUBE_SERVICES), `-A ${KUBE_SERVICES} -d ${d}${pproto} -m comment --comment ${quote(`${name} external IP`)}${dport} -j ${n.extChain}`);
    }
    if (!f.hasExternalEndpoints) addLine(linesOf(filter, KUBE_EXTERNAL_SERVICES), fExternal(d));
  }
  for (const ip of sp.loadBalancerIPs) {
    const d = hostCIDR(ip);
    if (f.hasEndpoints) {
      addLine(linesOf(nat, KUBE_SERVICES), `-A ${KUBE_SERVICES} -d ${d}${pproto} -m comment --comment ${quote(`${name} loadbalancer IP`)}${dport} -j ${n.lbChain}`);
    }
    if (f.usesFirewallChain) {
      addLine(linesOf(filter, KUBE_PROXY_FIREWALL), 
        `-A ${KUBE_PROXY_FIREWALL} -d ${d}${pproto} -m comment --comment ${quote(`${name} traffic not accepted by ${n.fwChain}`)}${dport} -j DROP`,
      );
    }
  }
  if (!f.hasExternalEndpoints) {
    for (const ip of sp.loadBalancerIPs) addLine(linesOf(filter, KUBE_EXTERNAL_SERVICES), fExternal(hostCIDR(ip)));
  }
}

/** Rules for the node port and the health-check node port in the shared chains. */
function nodePortRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, filter: ChainLines, nat: ChainLines): void {
  const f = sp.flags;
  const { name, pproto, proto } = n;
  if (sp.nodePort !== undefined) {
    if (f.hasEndpoints) {
      addLine(linesOf(nat, KUBE_NODEPORTS), `-A ${KUBE_NODEPORTS}${pproto} -m comment --comment ${quote(name)} -m ${proto} --dport ${sp.nodePort} -j ${n.extChain}`);
    }
    if (!f.hasExternalEndpoints) {
      const match = ` -m addrtype --dst-type LOCAL -m ${proto} --dport ${sp.nodePort}`;
      addLine(linesOf(filter, KUBE_EXTERNAL_SERVICES), noEndpointsRule(ctx, n, `-A ${KUBE_EXTERNAL_SERVICES}${pproto}`, match, f.externalFilter));
    }
  }
  if (sp.healthCheckNodePort !== undefined) {
    addLine(linesOf(filter, KUBE_NODEPORTS), 
      `-A ${KUBE_NODEPORTS} -p tcp -m comment --comment ${quote(`${name} health check node port`)} -m tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
    );
  }
}

/** Cluster-IP traffic from outside the cluster CIDR (or all of it) is marked for masquerade. */
function masqueradeRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, own: OwnChains): void {
  if (!sp.flags.hasInternalEndpoints || (!ctx.masqueradeAll && ctx.clusterCIDR === undefined)) return;
  const notFromCluster = ctx.masqueradeAll ? '' : ` ! -s ${ctx.clusterCIDR}`;
  addLine(ownLines(own, n.internalChain), 
    `-A ${n.internalChain}${notFromCluster} -d ${n.clusterIP}${n.pproto} -m comment --comment ${quote(`${n.name} cluster IP`)}${n.dport} -j ${KUBE_MARK_MASQ}`,
  );
}

/** KUBE-EXT-: masquerade external traffic (cluster policy), or keep the source (local policy). */
function externalChainRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, own: OwnChains): void {
  const { name, extChain, svcChain } = n;
  const ext = ownLines(own, extChain);
  if (sp.flags.externalPolicy === 'cluster') {
    addLine(ext, `-A ${extChain} -m comment --comment ${quote(`masquerade traffic for ${name} external destinations`)} -j ${KUBE_MARK_MASQ}`);
  } else {
    if (ctx.clusterCIDR !== undefined) {
      addLine(ext, `-A ${extChain} -s ${ctx.clusterCIDR} -m comment --comment ${quote(`pod traffic for ${name} external destinations`)} -j ${svcChain}`);
    }
    addLine(ext, 
      `-A ${extChain} -m comment --comment ${quote(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
    );
    addLine(ext, `-A ${extChain} -m comment --comment ${quote(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain}`);
  }
  if (sp.flags.hasExternalEndpoints) addLine(ext, `-A ${extChain} -j ${n.externalPolicyChain}`);
}

/** KUBE-FW-: load-balancer traffic from an allowed source goes on to KUBE-EXT-. */
function firewallChainRules(sp: ServicePortPlan, n: ServicePortParts, own: OwnChains): void {
  const { fwChain, extChain } = n;
  const fw = ownLines(own, fwChain);
  const c = ` -m comment --comment ${quote(`${n.name} loadbalancer IP`)}`;
  for (const range of sp.loadBalancerSourceRanges) addLine(fw, `-A ${fwChain} -s ${range}${c} -j ${extChain}`);
  if (sp.flags.firewallAllowsNode) {
    for (const ip of sp.loadBalancerIPs) addLine(fw, `-A ${fwChain} -s ${hostCIDR(ip)}${c} -j ${extChain}`);
  }
  addLine(fw, `-A ${fwChain} -m comment --comment ${quote(`other traffic to ${n.name} will be dropped by ${KUBE_PROXY_FIREWALL}`)}`);
}

/** A policy chain (KUBE-SVC-/KUBE-SVL-): affinity first, then a random pick among the endpoints. */
function balanceRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, chain: string, endpoints: readonly PlanEndpoint[], own: OwnChains): void {
  const list = ownLines(own, chain);
  const affinity = sp.affinityTimeoutSeconds;
  const comment = (ep: PlanEndpoint) => (ctx.largeCluster ? '' : ` -m comment --comment ${quote(`${sp.key} -> ${ep.address}`)}`);
  if (affinity !== undefined) {
    for (const ep of endpoints) {
      const sep = endpointChainOf(n.endpointChains, ep.address);
      addLine(list, `-A ${chain}${comment(ep)} -m recent --rcheck --seconds ${affinity} --reap --name ${sep} --mask ${ctx.recentMask} --rsource -j ${sep}`);
    }
  }
  const count = endpoints.length;
  for (let i = 0; i < count; i++) {
    const ep = endpoints[i]!;
    const stat = i < count - 1 ? ` -m statistic --mode random --probability ${probability(count - i)}` : '';
    addLine(list, `-A ${chain}${comment(ep)}${stat} -j ${endpointChainOf(n.endpointChains, ep.address)}`);
  }
}

/** KUBE-SEP-: hairpin masquerade, then DNAT to the endpoint (remembering it under affinity). */
function endpointChainRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, own: OwnChains): void {
  const sepComment = ctx.largeCluster ? '' : ` -m comment --comment ${quote(n.name)}`;
  for (const ep of sp.endpoints) {
    const sep = endpointChainOf(n.endpointChains, ep.address);
    const list = ownLines(own, sep);
    addLine(list, `-A ${sep} -s ${hostCIDR(ep.ip)}${sepComment} -j ${KUBE_MARK_MASQ}`);
    const recent = sp.affinityTimeoutSeconds !== undefined ? ` -m recent --set --name ${sep} --mask ${ctx.recentMask} --rsource` : '';
    addLine(list, `-A ${sep}${n.pproto}${sepComment}${recent} -m ${n.proto} -j DNAT --to-destination ${ep.address}`);
  }
}

/** Lines of one table in canonical order: header, chain declarations, rules, COMMIT. */
export function tableLines(name: TableName, table: RenderedTable, out: string[] = []): string[] {
  out.push('*' + name);
  for (const chain of table.chains) out.push(':' + chain + ' - [0:0]');
  for (const chain of BUILTIN_CHAINS[name]) {
    const rules = table.rules.get(chain);
    if (rules) for (const r of rules) out.push(r);
  }
  for (const chain of table.chains) {
    const rules = table.rules.get(chain);
    if (rules) for (const r of rules) out.push(r);
  }
  out.push('COMMIT');
  return out;
}

/** The canonical text of a rendered ruleset (filter, then nat). */
export function rulesetText(ruleset: RenderedRuleset): string {
  const out: string[] = [];
  for (const t of TABLES) tableLines(t, ruleset[t], out);
  return out.join('\n') + '\n';
}

/** iptables-restore input for the plan, in canonical (iptables-save) form. */
export function renderText(plan: Plan): string {
  return rulesetText(renderRuleset(plan));
}

/** Number of rule lines per table (kube-proxy's rule counts exclude the built-in jumps). */
export function countRules(ruleset: RenderedRuleset, table: TableName, includeBuiltinJumps = false): number {
  let n = 0;
  for (const [chain, rules] of ruleset[table].rules) {
    if (!includeBuiltinJumps && BUILTIN_CHAINS[table].includes(chain)) continue;
    n += rules.length;
  }
  return n;
}
