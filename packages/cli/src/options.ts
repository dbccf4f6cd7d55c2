/**
 * The flags every rule-touching command accepts, and turning them into a target, node settings
 * and the backend case. Scripts can pass one set of flags to every command.
 */
import { existsSync } from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { Target } from '@kpb/backend';
import { clusterFamilies, compileFamilies, nodeSettings, type NodeSettings, type Plan } from '@kpb/compiler';
import { isDNS1123Subdomain, parseCIDR, type Cluster, type IPFamily } from '@kpb/model';
import { familyOfValid } from '@kpb/model/net';
import { kubeProxyMode } from '@kpb/registry';
import { BACKEND_NAMES, IPTABLES_VARIANTS, LAYOUTS } from './backends.ts';
import { UsageError } from './errors.ts';

export interface CommonOptions {
  backend: string;
  netns?: string;
  host?: boolean;
  node?: string;
  clusterCidr?: string;
  family?: string;
  masqueradeAll?: boolean;
  masqueradeBit: string;
  nodeportAddresses?: string;
  serviceCidr?: string;
  localhostNodeports: boolean;
  layout: string;
  iptables: string;
  lockWait: string;
}

/** Add the common flags to a command. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-b, --backend <name>', 'backend').choices(BACKEND_NAMES).default('iptables'))
    .option('--netns <name>', 'network namespace to work in (must exist: ip netns add NAME)')
    .option('--host', "work on the host's own firewall (the root network namespace); never the default")
    .option('--node <name>', "this node's name: endpoints on it are local (default: the first Node in the input)")
    .addOption(
      new Option('--family <family>', 'IP families to work on: ipv4, ipv6, or dual (both; nft and nftnl load them in one transaction); default: what the input holds').choices(FAMILY_CHOICES),
    )
    .option('--cluster-cidr <list>', 'pod CIDRs, at most one per family, comma-separated (kube-proxy --cluster-cidr): ClusterIP traffic from outside them is masqueraded')
    .option('--masquerade-all', 'masquerade all ClusterIP traffic (kube-proxy --masquerade-all)')
    .option('--masquerade-bit <n>', 'bit of the packet mark that requests masquerading (0-31)', '14')
    .option(
      '--nodeport-addresses <list>',
      "node addresses that accept NodePorts (kube-proxy --nodeport-addresses): comma-separated CIDRs, or 'primary' (the node's first InternalIP); " +
        'default as kube-proxy per mode: every local address for iptables, primary for nft and nftnl',
    )
    .option(
      '--service-cidr <list>',
      "the cluster's service CIDRs, at most one per family, comma-separated (kube-apiserver --service-cluster-ip-range): " +
        'nft and nftnl drop traffic to their addresses that no service holds',
    )
    .option('--no-localhost-nodeports', 'iptables: do not accept NodePorts on 127.0.0.0/8 (kube-proxy --iptables-localhost-nodeports=false)')
    .addOption(new Option('--layout <layout>', 'nft/nftnl ruleset layout').choices(LAYOUTS).default('flat'))
    .addOption(
      new Option('--iptables <variant>', "iptables tools: iptables-nft, iptables-legacy, or noflush (iptables-nft the way kube-proxy loads: --noflush, jumps ensured with -C/-I)")
        .choices(IPTABLES_VARIANTS)
        .default('nft'),
    )
    .option('--lock-wait <seconds>', 'how long to wait for another kpb working on the same target', '60');
}

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Where a rule-changing (or rule-reading) command works. Without --netns or --host it refuses:
 * kpb never touches the host's firewall by default.
 */
export function resolveTarget(opts: CommonOptions, verb: string): Target {
  if (opts.netns !== undefined && opts.host) throw new UsageError('give either --netns NAME or --host, not both');
  if (opts.host) return { kind: 'host' };
  if (opts.netns === undefined) {
    throw new UsageError(
      `refusing to ${verb} the host's own firewall: give --netns NAME to work in a network namespace, or --host to really change this host's rules`,
    );
  }
  if (!NETNS_NAME.test(opts.netns) || opts.netns === '.' || opts.netns === '..') {
    throw new UsageError(`--netns ${JSON.stringify(opts.netns)} is not a network namespace name`);
  }
  if (!existsSync(`/var/run/netns/${opts.netns}`)) {
    throw new UsageError(`network namespace ${opts.netns} does not exist (create it with: ip netns add ${opts.netns})`);
  }
  return { kind: 'netns', name: opts.netns };
}

const FAMILY_CHOICES = ['ipv4', 'ipv6', 'dual'];

/** What the flags say about the node: its settings (one set for every family) and the cluster CIDR of each family. */
export interface ResolvedSettings {
  /** The settings, without a cluster CIDR: each family's plan gets its own (`clusterCIDRs`). */
  readonly settings: NodeSettings;
  readonly clusterCIDRs: readonly string[];
  readonly note?: string;
}

/** Node settings from the flags; the node defaults to the input's first Node. */
export function resolveSettings(opts: CommonOptions, cluster?: Cluster): ResolvedSettings {
  let nodeName = opts.node;
  let note: string | undefined;
  if (nodeName === undefined) {
    const first = cluster?.nodes[0]?.name;
    if (first === undefined) {
      nodeName = 'localhost';
      note = 'no --node and no Node in the input: no endpoint is local';
    } else {
      nodeName = first;
      if ((cluster?.nodes.length ?? 0) > 1) note = `no --node given: using the first Node in the input, ${first}`;
    }
  }
  if (!isDNS1123Subdomain(nodeName)) {
    throw new UsageError(`--node ${JSON.stringify(nodeName)} is not a valid node name (a DNS-1123 subdomain)`);
  }
  const clusterCIDRs = opts.clusterCidr === undefined ? [] : onePerFamily('--cluster-cidr', opts.clusterCidr);
  const bit = Number(opts.masqueradeBit);
  if (!/^\d+$/.test(opts.masqueradeBit) || bit > 31) {
    throw new UsageError(`--masquerade-bit ${JSON.stringify(opts.masqueradeBit)} is not a whole number from 0 to 31`);
  }
  const settings = nodeSettings({
    nodeName,
    masqueradeAll: opts.masqueradeAll ?? false,
    masqueradeBit: bit,
    nodePortAddresses: nodePortAddresses(opts),
    serviceCIDRs: serviceCIDRs(opts.serviceCidr),
    localhostNodePorts: opts.localhostNodeports,
  });
  return note !== undefined ? { settings, clusterCIDRs, note } : { settings, clusterCIDRs };
}

/** The families a command works on: --family, or what the input holds (`clusterFamilies`); without an input, both. */
export function resolveFamilies(opts: Pick<CommonOptions, 'family'>, cluster?: Cluster): IPFamily[] {
  if (opts.family === undefined) return cluster ? clusterFamilies(cluster) : ['IPv4', 'IPv6'];
  return opts.family === 'dual' ? ['IPv4', 'IPv6'] : [opts.family === 'ipv6' ? 'IPv6' : 'IPv4'];
}

/** The cluster compiled for every family the command works on (`families`: those of another input, for sync). */
export function resolvePlans(opts: CommonOptions, cluster: Cluster, resolved: ResolvedSettings, families = resolveFamilies(opts, cluster)): Plan[] {
  return compileFamilies(cluster, resolved.settings, families, resolved.clusterCIDRs);
}

/** How the plans are summed up in stage notes: `N service ports, M endpoints`, per family when there are two. */
export function describePlans(plans: readonly Plan[]): string {
  const one = (p: Plan) => `${p.servicePorts.length} service ports, ${p.endpointCount} endpoints`;
  return plans.length === 1 ? one(plans[0]!) : plans.map((p) => `${p.family}: ${one(p)}`).join('; ');
}

/** A comma-separated list of CIDRs from `flag`, each checked and made canonical. */
function cidrList(flag: string, text: string): string[] {
  return text.split(',').map((item) => {
    const cidr = parseCIDR(item.trim());
    if (!cidr.ok) throw new UsageError(`${flag} ${JSON.stringify(item.trim())} ${cidr.reason}`);
    return cidr.text;
  });
}

/** --nodeport-addresses, or kube-proxy's default for the backend's mode. */
function nodePortAddresses(opts: CommonOptions): NodeSettings['nodePortAddresses'] {
  const text = opts.nodeportAddresses;
  if (text === undefined) return kubeProxyMode(opts.backend) === 'nftables' ? 'primary' : [];
  if (text.trim() === 'primary') return 'primary';
  if (text.split(',').some((item) => item.trim() === 'primary')) {
    throw new UsageError(`--nodeport-addresses ${JSON.stringify(text)}: 'primary' cannot be combined with CIDRs`);
  }
  return cidrList('--nodeport-addresses', text);
}

function serviceCIDRs(text: string | undefined): string[] {
  return text === undefined ? [] : onePerFamily('--service-cidr', text);
}

/** A comma-separated list of CIDRs from `flag`, at most one per family. */
function onePerFamily(flag: string, text: string): string[] {
  const cidrs = cidrList(flag, text);
  for (const family of ['IPv4', 'IPv6'] as const) {
    if (cidrs.filter((c) => familyOfValid(c) === family).length > 1) {
      throw new UsageError(`${flag} ${JSON.stringify(text)} holds more than one ${family} CIDR (at most one per family)`);
    }
  }
  return cidrs;
}

/** Seconds to wait for the target's lock (one kpb at a time per namespace). */
export function lockWait(opts: CommonOptions): number {
  const n = Number(opts.lockWait);
  if (!/^\d+$/.test(opts.lockWait) || n > 3600) throw new UsageError(`--lock-wait ${JSON.stringify(opts.lockWait)} is not a whole number of seconds from 0 to 3600`);
  return n;
}
