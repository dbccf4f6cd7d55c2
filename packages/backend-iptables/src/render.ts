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
  BUILTIN_CHAINS, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL, KUBE_SERVICES, TABLES, TOP_LEVEL_CHAINS, endpointChainName, servicePortHash,
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

/** The jumps kube-proxy puts in the built-in chains, in the order they end up (each is prepended). */
function builtinJumps(table: TableName): Map<string, string[]> {
  const newState = '-m conntrack --ctstate NEW ';
  const c = (text: string) => `-m comment --comment ${quote(text)}`;
  if (table === 'filter') {
    const firewall = `${newState}${c('kubernetes load balancer firewall')} -j ${KUBE_PROXY_FIREWALL}`;
    const external = `${newState}${c('kubernetes externally-visible service portals')} -j ${KUBE_EXTERNAL_SERVICES}`;
    const services = `${newState}${c('kubernetes service portals')} -j ${KUBE_SERVICES}`;
    return new Map([
      ['INPUT', [`-A INPUT ${firewall}`, `-A INPUT ${c('kubernetes health check service ports')} -j ${KUBE_NODEPORTS}`, `-A INPUT ${external}`]],
      ['FORWARD', [`-A FORWARD ${firewall}`, `-A FORWARD ${c('kubernetes forwarding rules')} -j ${KUBE_FORWARD}`, `-A FORWARD ${services}`, `-A FORWARD ${external}`]],
      ['OUTPUT', [`-A OUTPUT ${firewall}`, `-A OUTPUT ${services}`]],
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

/** The rules one service port contributes. */
interface ServicePortRules {
  /** Lines for kpb's shared filter chains (KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, …). */
  readonly filter: ChainLines;
  /** Lines for kpb's shared nat chains (KUBE-SERVICES, KUBE-NODEPORTS). */
  readonly nat: ChainLines;
  /** The nat chains the service port owns (KUBE-SVC-, KUBE-EXT-, KUBE-SEP-, …), with their rules. */
  readonly own: ChainLines;
}

/** The rule list of `chain`, created empty on first use. */
function linesOf(lines: ChainLines, chain: string): string[] {
  let list = lines.get(chain);
  if (!list) lines.set(chain, (list = []));
  return list;
}

function appendLines(lines: ChainLines, chain: string, more: readonly string[]): void {
  const list = linesOf(lines, chain);
  for (const line of more) list.push(line);
}

/** Render a plan into per-table, per-chain rule lists. */
export function renderRuleset(plan: Plan): RenderedRuleset {
  const ipv6 = plan.family === 'IPv6';
  const largeCluster = plan.endpointCount > LARGE_CLUSTER_ENDPOINTS;
  const mark = hexMark((1 << plan.settings.masqueradeBit) >>> 0);
  const ctx: RenderContext = {
    largeCluster,
    clusterCIDR: plan.settings.clusterCIDR,
    masqueradeAll: plan.settings.masqueradeAll,
    rejectTarget: ipv6 ? 'REJECT --reject-with icmp6-port-unreachable' : 'REJECT --reject-with icmp-port-unreachable',
    recentMask: ipv6 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255',
  };

  const filterRules = builtinJumps('filter');
  const natRules = builtinJumps('nat');
  const filterShared: ChainLines = new Map();
  const natShared: ChainLines = new Map();
  const serviceChains: string[] = [];
  const servicePortChains = new Map<string, string[]>();
  for (const sp of plan.servicePorts) {
    const rules = servicePortRules(ctx, sp);
    for (const [chain, lines] of rules.filter) appendLines(filterShared, chain, lines);
    for (const [chain, lines] of rules.nat) appendLines(natShared, chain, lines);
    const owned: string[] = [];
    for (const [chain, lines] of rules.own) {
      if (!natRules.has(chain)) owned.push(chain);
      appendLines(natRules, chain, lines);
    }
    servicePortChains.set(sp.key, owned);
    for (const chain of owned) serviceChains.push(chain);
  }

  // Last rule of nat KUBE-SERVICES: everything addressed to the node goes on to the node ports.
  // (IPv6: kube-proxy excludes ::1, localhost node ports do not work there; `! -d` is a header option.)
  linesOf(natShared, KUBE_SERVICES).push(
    `-A ${KUBE_SERVICES}${ipv6 ? ' ! -d ::1/128' : ''} -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j ${KUBE_NODEPORTS}`,
  );

  const shared = (lines: ChainLines, chain: string) => lines.get(chain) ?? [];
  filterRules.set(KUBE_SERVICES, shared(filterShared, KUBE_SERVICES));
  filterRules.set(KUBE_EXTERNAL_SERVICES, shared(filterShared, KUBE_EXTERNAL_SERVICES));
  filterRules.set(KUBE_FORWARD, forwardRules(mark));
  filterRules.set(KUBE_NODEPORTS, shared(filterShared, KUBE_NODEPORTS));
  filterRules.set(KUBE_PROXY_FIREWALL, shared(filterShared, KUBE_PROXY_FIREWALL));
  natRules.set(KUBE_SERVICES, shared(natShared, KUBE_SERVICES));
  natRules.set(KUBE_NODEPORTS, shared(natShared, KUBE_NODEPORTS));
  natRules.set(KUBE_POSTROUTING, postroutingRules(mark));
  natRules.set(KUBE_MARK_MASQ, [`-A ${KUBE_MARK_MASQ} -j MARK --set-xmark ${mark}/${mark}`]);

  const filterChains = [...TOP_LEVEL_CHAINS.filter].sort(compareNames);
  const natChains = [...TOP_LEVEL_CHAINS.nat, ...serviceChains].sort(compareNames);
  return {
    filter: { rules: filterRules, chains: filterChains },
    nat: { rules: natRules, chains: natChains },
    servicePortChains,
    largeCluster,
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
}

function servicePortParts(sp: ServicePortPlan): ServicePortParts {
  const f = sp.flags;
  const proto = sp.protocol.toLowerCase();
  const hash = servicePortHash(sp.key, sp.protocol);
  const svcChain = 'KUBE-SVC-' + hash;
  const svlChain = 'KUBE-SVL-' + hash;
  const extChain = 'KUBE-EXT-' + hash;
  const fwChain = 'KUBE-FW-' + hash;
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
  };
}

/** The per-service-port emitter: every rule one service port needs, in kube-proxy's order. */
function servicePortRules(ctx: RenderContext, sp: ServicePortPlan): ServicePortRules {
  const n = servicePortParts(sp);
  const out: ServicePortRules = { filter: new Map(), nat: new Map(), own: new Map() };
  addressRules(ctx, sp, n, out);
  nodePortRules(ctx, sp, n, out);
  masqueradeRules(ctx, sp, n, out.own);
  if (sp.flags.usesExternalChain) externalChainRules(ctx, sp, n, out.own);
  if (sp.flags.usesFirewallChain) firewallChainRules(sp, n, out.own);
  if (sp.flags.usesClusterPolicyChain) balanceRules(ctx, sp, n.svcChain, sp.clusterEndpoints, out.own);
  if (sp.flags.usesLocalPolicyChain) balanceRules(ctx, sp, n.svlChain, sp.localEndpoints, out.own);
  endpointChainRules(ctx, sp, n, out.own);
  return out;
}

/** The filter rule for traffic the service port has no (local) endpoints for. */
function noEndpointsRule(ctx: RenderContext, n: ServicePortParts, head: string, match: string, filter: 'REJECT' | 'DROP' | undefined): string {
  const comment = quote(filter === 'REJECT' ? `${n.name} has no endpoints` : `${n.name} has no local endpoints`);
  return `${head} -m comment --comment ${comment}${match} -j ${filter === 'REJECT' ? ctx.rejectTarget : 'DROP'}`;
}

/** Rules for the cluster IP, external IPs and load-balancer IPs in the shared chains. */
function addressRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, out: ServicePortRules): void {
  const f = sp.flags;
  const { name, pproto, dport } = n;
  const fExternal = (d: string) => noEndpointsRule(ctx, n, `-A ${KUBE_EXTERNAL_SERVICES} -d ${d}${pproto}`, dport, f.externalFilter);
  if (f.hasInternalEndpoints) {
    linesOf(out.nat, KUBE_SERVICES).push(`-A ${KUBE_SERVICES} -d ${n.clusterIP}${pproto} -m comment --comment ${quote(`${name} cluster IP`)}${dport} -j ${n.internalChain}`);
  } else {
    linesOf(out.filter, KUBE_SERVICES).push(noEndpointsRule(ctx, n, `-A ${KUBE_SERVICES} -d ${n.clusterIP}${pproto}`, dport, f.internalFilter));
  }
  for (const ip of sp.externalIPs) {
    const d = hostCIDR(ip);
    if (f.hasEndpoints) {
      linesOf(out.nat, KUBE_SERVICES).push(`-A ${KUBE_SERVICES} -d ${d}${pproto} -m comment --comment ${quote(`${name} external IP`)}${dport} -j ${n.extChain}`);
    }
    if (!f.hasExternalEndpoints) linesOf(out.filter, KUBE_EXTERNAL_SERVICES).push(fExternal(d));
  }
  for (const ip of sp.loadBalancerIPs) {
    const d = hostCIDR(ip);
    if (f.hasEndpoints) {
      linesOf(out.nat, KUBE_SERVICES).push(`-A ${KUBE_SERVICES} -d ${d}${pproto} -m comment --comment ${quote(`${name} loadbalancer IP`)}${dport} -j ${n.lbChain}`);
    }
    if (f.usesFirewallChain) {
      linesOf(out.filter, KUBE_PROXY_FIREWALL).push(
        `-A ${KUBE_PROXY_FIREWALL} -d ${d}${pproto} -m comment --comment ${quote(`${name} traffic not accepted by ${n.fwChain}`)}${dport} -j DROP`,
      );
    }
  }
  if (!f.hasExternalEndpoints) {
    for (const ip of sp.loadBalancerIPs) linesOf(out.filter, KUBE_EXTERNAL_SERVICES).push(fExternal(hostCIDR(ip)));
  }
}

/** Rules for the node port and the health-check node port in the shared chains. */
function nodePortRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, out: ServicePortRules): void {
  const f = sp.flags;
  const { name, pproto, proto } = n;
  if (sp.nodePort !== undefined) {
    if (f.hasEndpoints) {
      linesOf(out.nat, KUBE_NODEPORTS).push(`-A ${KUBE_NODEPORTS}${pproto} -m comment --comment ${quote(name)} -m ${proto} --dport ${sp.nodePort} -j ${n.extChain}`);
    }
    if (!f.hasExternalEndpoints) {
      const match = ` -m addrtype --dst-type LOCAL -m ${proto} --dport ${sp.nodePort}`;
      linesOf(out.filter, KUBE_EXTERNAL_SERVICES).push(noEndpointsRule(ctx, n, `-A ${KUBE_EXTERNAL_SERVICES}${pproto}`, match, f.externalFilter));
    }
  }
  if (sp.healthCheckNodePort !== undefined) {
    linesOf(out.filter, KUBE_NODEPORTS).push(
      `-A ${KUBE_NODEPORTS} -p tcp -m comment --comment ${quote(`${name} health check node port`)} -m tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
    );
  }
}

/** Cluster-IP traffic from outside the cluster CIDR (or all of it) is marked for masquerade. */
function masqueradeRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, own: ChainLines): void {
  if (!sp.flags.hasInternalEndpoints || (!ctx.masqueradeAll && ctx.clusterCIDR === undefined)) return;
  const notFromCluster = ctx.masqueradeAll ? '' : ` ! -s ${ctx.clusterCIDR}`;
  linesOf(own, n.internalChain).push(
    `-A ${n.internalChain}${notFromCluster} -d ${n.clusterIP}${n.pproto} -m comment --comment ${quote(`${n.name} cluster IP`)}${n.dport} -j ${KUBE_MARK_MASQ}`,
  );
}

/** KUBE-EXT-: masquerade external traffic (cluster policy), or keep the source (local policy). */
function externalChainRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, own: ChainLines): void {
  const { name, extChain, svcChain } = n;
  const ext = linesOf(own, extChain);
  if (sp.flags.externalPolicy === 'cluster') {
    ext.push(`-A ${extChain} -m comment --comment ${quote(`masquerade traffic for ${name} external destinations`)} -j ${KUBE_MARK_MASQ}`);
  } else {
    if (ctx.clusterCIDR !== undefined) {
      ext.push(`-A ${extChain} -s ${ctx.clusterCIDR} -m comment --comment ${quote(`pod traffic for ${name} external destinations`)} -j ${svcChain}`);
    }
    ext.push(
      `-A ${extChain} -m comment --comment ${quote(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
    );
    ext.push(`-A ${extChain} -m comment --comment ${quote(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain}`);
  }
  if (sp.flags.hasExternalEndpoints) ext.push(`-A ${extChain} -j ${n.externalPolicyChain}`);
}

/** KUBE-FW-: load-balancer traffic from an allowed source goes on to KUBE-EXT-. */
function firewallChainRules(sp: ServicePortPlan, n: ServicePortParts, own: ChainLines): void {
  const { fwChain, extChain } = n;
  const fw = linesOf(own, fwChain);
  const c = ` -m comment --comment ${quote(`${n.name} loadbalancer IP`)}`;
  for (const range of sp.loadBalancerSourceRanges) fw.push(`-A ${fwChain} -s ${range}${c} -j ${extChain}`);
  if (sp.flags.firewallAllowsNode) {
    for (const ip of sp.loadBalancerIPs) fw.push(`-A ${fwChain} -s ${hostCIDR(ip)}${c} -j ${extChain}`);
  }
  fw.push(`-A ${fwChain} -m comment --comment ${quote(`other traffic to ${n.name} will be dropped by ${KUBE_PROXY_FIREWALL}`)}`);
}

const endpointChain = (sp: ServicePortPlan, ep: PlanEndpoint) => endpointChainName(sp.key, sp.protocol, ep.address);

/** A policy chain (KUBE-SVC-/KUBE-SVL-): affinity first, then a random pick among the endpoints. */
function balanceRules(ctx: RenderContext, sp: ServicePortPlan, chain: string, endpoints: readonly PlanEndpoint[], own: ChainLines): void {
  const list = linesOf(own, chain);
  const affinity = sp.affinityTimeoutSeconds;
  const comment = (ep: PlanEndpoint) => (ctx.largeCluster ? '' : ` -m comment --comment ${quote(`${sp.key} -> ${ep.address}`)}`);
  if (affinity !== undefined) {
    for (const ep of endpoints) {
      const sep = endpointChain(sp, ep);
      list.push(`-A ${chain}${comment(ep)} -m recent --rcheck --seconds ${affinity} --reap --name ${sep} --mask ${ctx.recentMask} --rsource -j ${sep}`);
    }
  }
  const count = endpoints.length;
  for (let i = 0; i < count; i++) {
    const ep = endpoints[i]!;
    const stat = i < count - 1 ? ` -m statistic --mode random --probability ${probability(count - i)}` : '';
    list.push(`-A ${chain}${comment(ep)}${stat} -j ${endpointChain(sp, ep)}`);
  }
}

/** KUBE-SEP-: hairpin masquerade, then DNAT to the endpoint (remembering it under affinity). */
function endpointChainRules(ctx: RenderContext, sp: ServicePortPlan, n: ServicePortParts, own: ChainLines): void {
  const sepComment = ctx.largeCluster ? '' : ` -m comment --comment ${quote(n.name)}`;
  for (const ep of sp.endpoints) {
    const sep = endpointChain(sp, ep);
    const list = linesOf(own, sep);
    list.push(`-A ${sep} -s ${hostCIDR(ep.ip)}${sepComment} -j ${KUBE_MARK_MASQ}`);
    const recent = sp.affinityTimeoutSeconds !== undefined ? ` -m recent --set --name ${sep} --mask ${ctx.recentMask} --rsource` : '';
    list.push(`-A ${sep}${n.pproto}${sepComment}${recent} -m ${n.proto} -j DNAT --to-destination ${ep.address}`);
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
