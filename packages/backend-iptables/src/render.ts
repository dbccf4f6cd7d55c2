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
  BUILTIN_CHAINS,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  TABLES,
  TOP_LEVEL_CHAINS,
  endpointChainName,
  servicePortHash,
  type TableName,
} from './names.ts';

/** kube-proxy drops per-rule endpoint comments above this many endpoints. */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

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

/** Render a plan into per-table, per-chain rule lists. */
export function renderRuleset(plan: Plan): RenderedRuleset {
  const ipv6 = plan.family === 'IPv6';
  const largeCluster = plan.endpointCount > LARGE_CLUSTER_ENDPOINTS;
  const mark = hexMark((1 << plan.settings.masqueradeBit) >>> 0);
  const cidr = plan.settings.clusterCIDR;
  const masqueradeAll = plan.settings.masqueradeAll;
  const rejectTarget = ipv6 ? 'REJECT --reject-with icmp6-port-unreachable' : 'REJECT --reject-with icmp-port-unreachable';
  const recentMask = ipv6 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255';

  const filterRules = builtinJumps('filter');
  const natRules = builtinJumps('nat');
  const fServices: string[] = [];
  const fExternal: string[] = [];
  const fNodePorts: string[] = [];
  const fFirewall: string[] = [];
  const fForward: string[] = [
    `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP`,
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  ];
  const nServices: string[] = [];
  const nNodePorts: string[] = [];
  const nPostrouting = [
    `-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A ${KUBE_POSTROUTING} -j MARK --set-xmark ${mark}/0x0`,
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
  ];
  const nMarkMasq = [`-A ${KUBE_MARK_MASQ} -j MARK --set-xmark ${mark}/${mark}`];

  const serviceChains: string[] = [];
  const servicePortChains = new Map<string, string[]>();

  for (const sp of plan.servicePorts) {
    const owned = renderServicePort(sp);
    servicePortChains.set(sp.key, owned);
    for (const chain of owned) serviceChains.push(chain);
  }

  function renderServicePort(sp: ServicePortPlan): string[] {
    const owned: string[] = [];
    const f = sp.flags;
    const name = sp.key;
    const proto = sp.protocol.toLowerCase();
    const hash = servicePortHash(sp.key, sp.protocol);
    const svcChain = 'KUBE-SVC-' + hash;
    const svlChain = 'KUBE-SVL-' + hash;
    const extChain = 'KUBE-EXT-' + hash;
    const fwChain = 'KUBE-FW-' + hash;
    const internalChain = f.internalPolicy === 'local' ? svlChain : svcChain;
    const externalPolicyChain = f.externalPolicy === 'local' ? svlChain : svcChain;
    const lbChain = f.usesFirewallChain ? fwChain : extChain;
    const dport = ` -m ${proto} --dport ${sp.port}`;
    const pproto = ` -p ${proto}`;
    const clusterIP = hostCIDR(sp.clusterIP);
    const filterTarget = (t: 'REJECT' | 'DROP' | undefined) => (t === 'REJECT' ? rejectTarget : 'DROP');
    const filterComment = (t: 'REJECT' | 'DROP' | undefined) =>
      quote(t === 'REJECT' ? `${name} has no endpoints` : `${name} has no local endpoints`);

    // Cluster IP.
    if (f.hasInternalEndpoints) {
      nServices.push(`-A ${KUBE_SERVICES} -d ${clusterIP}${pproto} -m comment --comment ${quote(`${name} cluster IP`)}${dport} -j ${internalChain}`);
    } else {
      fServices.push(
        `-A ${KUBE_SERVICES} -d ${clusterIP}${pproto} -m comment --comment ${filterComment(f.internalFilter)}${dport} -j ${filterTarget(f.internalFilter)}`,
      );
    }
    // External IPs.
    for (const ip of sp.externalIPs) {
      const d = hostCIDR(ip);
      if (f.hasEndpoints) {
        nServices.push(`-A ${KUBE_SERVICES} -d ${d}${pproto} -m comment --comment ${quote(`${name} external IP`)}${dport} -j ${extChain}`);
      }
      if (!f.hasExternalEndpoints) {
        fExternal.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -d ${d}${pproto} -m comment --comment ${filterComment(f.externalFilter)}${dport} -j ${filterTarget(f.externalFilter)}`,
        );
      }
    }
    // Load-balancer IPs.
    for (const ip of sp.loadBalancerIPs) {
      const d = hostCIDR(ip);
      if (f.hasEndpoints) {
        nServices.push(`-A ${KUBE_SERVICES} -d ${d}${pproto} -m comment --comment ${quote(`${name} loadbalancer IP`)}${dport} -j ${lbChain}`);
      }
      if (f.usesFirewallChain) {
        fFirewall.push(
          `-A ${KUBE_PROXY_FIREWALL} -d ${d}${pproto} -m comment --comment ${quote(`${name} traffic not accepted by ${fwChain}`)}${dport} -j DROP`,
        );
      }
    }
    if (!f.hasExternalEndpoints) {
      for (const ip of sp.loadBalancerIPs) {
        fExternal.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -d ${hostCIDR(ip)}${pproto} -m comment --comment ${filterComment(f.externalFilter)}${dport} -j ${filterTarget(f.externalFilter)}`,
        );
      }
    }
    // Node port.
    if (sp.nodePort !== undefined) {
      if (f.hasEndpoints) {
        nNodePorts.push(`-A ${KUBE_NODEPORTS}${pproto} -m comment --comment ${quote(name)} -m ${proto} --dport ${sp.nodePort} -j ${extChain}`);
      }
      if (!f.hasExternalEndpoints) {
        fExternal.push(
          `-A ${KUBE_EXTERNAL_SERVICES}${pproto} -m comment --comment ${filterComment(f.externalFilter)} -m addrtype --dst-type LOCAL -m ${proto} --dport ${sp.nodePort} -j ${filterTarget(f.externalFilter)}`,
        );
      }
    }
    // Health-check node port.
    if (sp.healthCheckNodePort !== undefined) {
      fNodePorts.push(
        `-A ${KUBE_NODEPORTS} -p tcp -m comment --comment ${quote(`${name} health check node port`)} -m tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
      );
    }

    // The service port's own nat chains (each written into natRules when first used).
    const rulesOf = (chain: string): string[] => {
      let list = natRules.get(chain);
      if (!list) {
        natRules.set(chain, (list = []));
        owned.push(chain);
      }
      return list;
    };
    if (f.hasInternalEndpoints && (masqueradeAll || cidr !== undefined)) {
      const notFromCluster = masqueradeAll ? '' : ` ! -s ${cidr}`;
      rulesOf(internalChain).push(
        `-A ${internalChain}${notFromCluster} -d ${clusterIP}${pproto} -m comment --comment ${quote(`${name} cluster IP`)}${dport} -j ${KUBE_MARK_MASQ}`,
      );
    }
    if (f.usesExternalChain) {
      const ext = rulesOf(extChain);
      if (f.externalPolicy === 'cluster') {
        ext.push(`-A ${extChain} -m comment --comment ${quote(`masquerade traffic for ${name} external destinations`)} -j ${KUBE_MARK_MASQ}`);
      } else {
        if (cidr !== undefined) {
          ext.push(`-A ${extChain} -s ${cidr} -m comment --comment ${quote(`pod traffic for ${name} external destinations`)} -j ${svcChain}`);
        }
        ext.push(
          `-A ${extChain} -m comment --comment ${quote(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
        );
        ext.push(
          `-A ${extChain} -m comment --comment ${quote(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain}`,
        );
      }
      if (f.hasExternalEndpoints) ext.push(`-A ${extChain} -j ${externalPolicyChain}`);
    }
    if (f.usesFirewallChain) {
      const fw = rulesOf(fwChain);
      const c = ` -m comment --comment ${quote(`${name} loadbalancer IP`)}`;
      for (const range of sp.loadBalancerSourceRanges) fw.push(`-A ${fwChain} -s ${range}${c} -j ${extChain}`);
      if (f.firewallAllowsNode) {
        for (const ip of sp.loadBalancerIPs) fw.push(`-A ${fwChain} -s ${hostCIDR(ip)}${c} -j ${extChain}`);
      }
      fw.push(`-A ${fwChain} -m comment --comment ${quote(`other traffic to ${name} will be dropped by ${KUBE_PROXY_FIREWALL}`)}`);
    }
    const sepName = (ep: PlanEndpoint) => endpointChainName(sp.key, sp.protocol, ep.address);
    const affinity = sp.affinityTimeoutSeconds;
    const balance = (chain: string, endpoints: readonly PlanEndpoint[]) => {
      const list = rulesOf(chain);
      const n = endpoints.length;
      if (affinity !== undefined) {
        for (const ep of endpoints) {
          const sep = sepName(ep);
          const c = largeCluster ? '' : ` -m comment --comment ${quote(`${name} -> ${ep.address}`)}`;
          list.push(`-A ${chain}${c} -m recent --rcheck --seconds ${affinity} --reap --name ${sep} --mask ${recentMask} --rsource -j ${sep}`);
        }
      }
      for (let i = 0; i < n; i++) {
        const ep = endpoints[i]!;
        const c = largeCluster ? '' : ` -m comment --comment ${quote(`${name} -> ${ep.address}`)}`;
        const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
        list.push(`-A ${chain}${c}${stat} -j ${sepName(ep)}`);
      }
    };
    if (f.usesClusterPolicyChain) balance(svcChain, sp.clusterEndpoints);
    if (f.usesLocalPolicyChain) balance(svlChain, sp.localEndpoints);
    const sepComment = largeCluster ? '' : ` -m comment --comment ${quote(name)}`;
    for (const ep of sp.endpoints) {
      const sep = sepName(ep);
      const list = rulesOf(sep);
      list.push(`-A ${sep} -s ${hostCIDR(ep.ip)}${sepComment} -j ${KUBE_MARK_MASQ}`);
      const recent = affinity !== undefined ? ` -m recent --set --name ${sep} --mask ${recentMask} --rsource` : '';
      list.push(`-A ${sep}${pproto}${sepComment}${recent} -m ${proto} -j DNAT --to-destination ${ep.address}`);
    }
    return owned;
  }

  // Last rule of nat KUBE-SERVICES: everything addressed to the node goes on to the node ports.
  // (IPv6: kube-proxy excludes ::1, localhost node ports do not work there; `! -d` is a header option.)
  nServices.push(
    `-A ${KUBE_SERVICES}${ipv6 ? ' ! -d ::1/128' : ''} -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j ${KUBE_NODEPORTS}`,
  );

  filterRules.set(KUBE_SERVICES, fServices);
  filterRules.set(KUBE_EXTERNAL_SERVICES, fExternal);
  filterRules.set(KUBE_FORWARD, fForward);
  filterRules.set(KUBE_NODEPORTS, fNodePorts);
  filterRules.set(KUBE_PROXY_FIREWALL, fFirewall);
  natRules.set(KUBE_SERVICES, nServices);
  natRules.set(KUBE_NODEPORTS, nNodePorts);
  natRules.set(KUBE_POSTROUTING, nPostrouting);
  natRules.set(KUBE_MARK_MASQ, nMarkMasq);

  const filterChains = [...TOP_LEVEL_CHAINS.filter].sort(compareNames);
  const natChains = [...TOP_LEVEL_CHAINS.nat, ...serviceChains].sort(compareNames);
  return {
    filter: { rules: filterRules, chains: filterChains },
    nat: { rules: natRules, chains: natChains },
    servicePortChains,
    largeCluster,
  };
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
