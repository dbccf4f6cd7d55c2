/**
 * The packet-flow table: kpb's executable definition of "behaves like kube-proxy". Every backend
 * runs every row, through its in-memory tracer and with real packets on a real kernel.
 */
import { fileURLToPath } from 'node:url';
import type { NodeSettings } from '@kpb/compiler';
import type { IPFamily } from '@kpb/model';
import type { kubeProxyMode } from '@kpb/registry';

/** The fixture cluster the rows are written against. */
export const FIXTURE_FILE = fileURLToPath(new URL('../fixtures/cluster.json', import.meta.url));
export const FIXTURE_NODE = 'node-1';
export const FIXTURE_CLUSTER_CIDR = '10.244.0.0/16';
export const FIXTURE_CLUSTER_CIDR_V6 = 'fd00:10:244::/48';

/** The virtual cluster's hosts: addresses match the fixture's Node and EndpointSlices. */
export const HOSTS = {
  /** The node's primary IP: the first InternalIP of its Node object. */
  nodeIP: '192.168.100.1',
  /** The node's second InternalIP, on the client link too: NodePorts answer on it or not by the settings. */
  secondaryNodeIP: '192.168.100.4',
  /** The fixture's NodePorts, served by the node itself too: NodePort traffic the rules leave alone reaches that server. */
  nodeServedPorts: [30080, 30081, 30082, 30084],
  clientIP: '192.168.100.2',
  /** A second address of the client, the only source allowed by the `lb` service's source ranges. */
  allowedClientIP: '192.168.100.3',
  /** The node's IPv6 on the client link: its Node object's IPv6 InternalIP. */
  nodeIP6: 'fd00:192:168:100::1',
  clientIP6: 'fd00:192:168:100::2',
  /** The only IPv6 source the `lb` service's source ranges allow. */
  allowedClientIP6: 'fd00:192:168:100::3',
  /** Routed by the client (and the node) towards the node: service, external and LB IPs of both families. */
  routedToNode: ['10.96.0.0/16', '203.0.113.0/24', 'fd00:10:96::/112', '2001:db8:113::/64'],
} as const;

export interface PodSpec {
  readonly name: string;
  readonly ip: string;
  /** The pod's IPv6 address (every fixture pod is dual-stack). */
  readonly ip6: string;
  readonly tcpPorts: readonly number[];
  readonly udpPorts: readonly number[];
  readonly sctpPorts: readonly number[];
}

const serving = (name: string, ip: string, ip6: string): PodSpec => ({ name, ip, ip6, tcpPorts: [8080, 8443], udpPorts: [5353], sctpPorts: [9999] });
export const PODS: readonly PodSpec[] = [
  serving('web-1', '10.244.1.11', 'fd00:10:244:1::11'),
  serving('web-2', '10.244.1.12', 'fd00:10:244:1::12'),
  serving('web-3', '10.244.2.13', 'fd00:10:244:2::13'),
  serving('dns-1', '10.244.1.21', 'fd00:10:244:1::21'),
  serving('dns-2', '10.244.2.22', 'fd00:10:244:2::22'),
  /** A pod that only sends: the pod-to-service rows start here. */
  { name: 'app-1', ip: '10.244.1.31', ip6: 'fd00:10:244:1::31', tcpPorts: [], udpPorts: [], sctpPorts: [] },
];
/** The pod's address of `family`. */
export const podIP = (name: string, family: IPFamily = 'IPv4'): string => {
  const pod = PODS.find((p) => p.name === name);
  if (!pod) throw new Error(`no pod ${name} in the conformance fixture`);
  return family === 'IPv6' ? pod.ip6 : pod.ip;
};

/** The IP family of a row: that of its destination. */
export const rowFamily = (row: Pick<FlowRowSpec, 'dst'>): IPFamily => (row.dst.includes(':') ? 'IPv6' : 'IPv4');

/** Where a probe starts. */
export type Source = 'client' | 'allowed-client' | 'node' | 'app-1';

/** kube-proxy's proxy mode a backend stands for: a few answers differ (cluster-ips-check is nftables-only). */
type KubeProxyMode = ReturnType<typeof kubeProxyMode>;

type Expectation =
  /** Answers come from exactly these pods, each with a fair share. `masquerade`: the pod sees another source than the sender's. */
  | { readonly kind: 'endpoints'; readonly pods: readonly string[]; readonly masquerade: boolean }
  /** ClientIP affinity: every answer comes from one and the same of these pods. */
  | { readonly kind: 'sticky'; readonly pods: readonly string[] }
  /** Refused at once (ICMP reject / RST): not left to time out. */
  | { readonly kind: 'refused' }
  /** Silently dropped: the attempt times out and nothing leaves the node. */
  | { readonly kind: 'dropped' }
  /** The rules leave it alone: it goes on to the address it was sent to, un-NATed. */
  | { readonly kind: 'untouched' };

/** What a row expects: one outcome for every mode, or one per kube-proxy mode where they differ. */
type Expected = Expectation | { readonly byMode: Readonly<Record<KubeProxyMode, Expectation>> };

/**
 * Node settings rows run under, by name. Every profile starts from the fixture's (node name,
 * cluster CIDR, every local address accepts NodePorts, no service CIDR known); rows that need
 * more name a profile, and the runners compile (and load) one plan per profile.
 */
export const SETTINGS_PROFILES = {
  fixture: {},
  'nodeport-primary': { nodePortAddresses: 'primary' },
  'nodeport-cidr': { nodePortAddresses: [`${HOSTS.secondaryNodeIP}/32`] },
  'service-cidr': { serviceCIDRs: ['10.96.0.0/16'] },
} as const satisfies Record<string, Partial<Pick<NodeSettings, 'nodePortAddresses' | 'serviceCIDRs'>>>;
export type SettingsProfile = keyof typeof SETTINGS_PROFILES;

interface FlowRowSpec {
  readonly name: string;
  readonly from: Source;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly dst: string;
  readonly port: number;
  /** The port the endpoints are reached on (the resolved target port). */
  readonly targetPort: number;
  readonly expect: Expected;
  /** The node settings the row runs under (default `fixture`). */
  readonly settings?: SettingsProfile;
}

/** A row as one backend case runs it: the expectation of the case's kube-proxy mode. */
export interface FlowRow extends Omit<FlowRowSpec, 'expect' | 'settings'> {
  readonly expect: Expectation;
  readonly settings: SettingsProfile;
}

const WEB = ['web-1', 'web-2', 'web-3'];
const tcp = (name: string, from: Source, dst: string, port: number, expect: Expected, targetPort = 8080): FlowRowSpec => ({ name, from, protocol: 'TCP', dst, port, targetPort, expect });
const under = (settings: SettingsProfile, row: FlowRowSpec): FlowRowSpec => ({ ...row, name: `${row.name} [${settings}]`, settings });
const reach = (pods: readonly string[], masquerade: boolean): Expectation => ({ kind: 'endpoints', pods, masquerade });
const UNTOUCHED: Expectation = { kind: 'untouched' };
/** nftables mode's cluster-ips-check: new traffic to a ClusterIP on a port no service serves is rejected. */
const UNUSED_CLUSTER_PORT: Expected = { byMode: { iptables: UNTOUCHED, nftables: { kind: 'refused' } } };
/** nftables mode's cluster-ips-check: traffic to a service-CIDR address no service holds is dropped. */
const UNALLOCATED_CLUSTER_IP: Expected = { byMode: { iptables: UNTOUCHED, nftables: { kind: 'dropped' } } };

const ROWS: readonly FlowRowSpec[] = [
  tcp('ClusterIP over TCP spreads over all ready endpoints, masqueraded from outside the cluster CIDR', 'client', '10.96.0.10', 80, reach(WEB, true)),
  tcp('ClusterIP from a pod keeps the pod\'s source address', 'app-1', '10.96.0.10', 80, reach(WEB, false)),
  // The node's own address is outside the cluster CIDR, so kube-proxy masquerades this too.
  tcp('ClusterIP from the node itself', 'node', '10.96.0.10', 80, reach(WEB, true)),
  { name: 'ClusterIP over UDP spreads over all ready endpoints', from: 'app-1', protocol: 'UDP', dst: '10.96.0.11', port: 53, targetPort: 5353, expect: reach(['dns-1', 'dns-2'], false) },
  { name: 'ClusterIP over SCTP', from: 'app-1', protocol: 'SCTP', dst: '10.96.0.19', port: 9999, targetPort: 9999, expect: reach(['web-1', 'web-2'], false) },
  tcp('multi-port service: named target port "web" resolves to 8080', 'app-1', '10.96.0.12', 80, reach(['web-1', 'web-2'], false)),
  tcp('multi-port service: named target port "tls" resolves to 8443', 'app-1', '10.96.0.12', 443, reach(['web-1', 'web-2'], false), 8443),
  tcp('endpoints split across two EndpointSlices are all used', 'app-1', '10.96.0.13', 80, reach(WEB, false)),
  tcp('not-ready and terminating endpoints receive nothing while one is ready', 'app-1', '10.96.0.14', 80, reach(['web-1'], false)),
  tcp('serving-and-terminating endpoints are used when none is ready', 'app-1', '10.96.0.16', 80, reach(['web-1'], false)),
  tcp('a service without endpoints is refused at once', 'app-1', '10.96.0.15', 80, { kind: 'refused' }),
  tcp('ClientIP session affinity keeps one client on one endpoint', 'app-1', '10.96.0.17', 80, { kind: 'sticky', pods: WEB }),
  tcp('NodePort with Cluster policy reaches every endpoint, masqueraded', 'client', HOSTS.nodeIP, 30080, reach(WEB, true)),
  tcp('NodePort with Local policy stays on this node and keeps the client address', 'client', HOSTS.nodeIP, 30081, reach(['web-1'], false)),
  tcp('NodePort with Local policy and no local endpoint drops external traffic', 'client', HOSTS.nodeIP, 30082, { kind: 'dropped' }),
  tcp('ClusterIP of a Local-policy service still uses remote endpoints', 'app-1', '10.96.0.22', 80, reach(['web-3'], false)),
  tcp('externalIPs reach the endpoints', 'client', '203.0.113.10', 80, reach(WEB, true)),
  tcp('LoadBalancer IP from an allowed source range', 'allowed-client', '203.0.113.20', 80, reach(WEB, true)),
  tcp('LoadBalancer IP from outside the source ranges is dropped', 'client', '203.0.113.20', 80, { kind: 'dropped' }),
  tcp('internalTrafficPolicy Local uses only this node\'s endpoints', 'app-1', '10.96.0.25', 80, reach(['web-1'], false)),
  // Which node addresses accept NodePorts (kube-proxy's --nodeport-addresses).
  tcp('NodePort on a secondary node IP, every local address accepting NodePorts', 'client', HOSTS.secondaryNodeIP, 30080, reach(WEB, true)),
  under('nodeport-primary', tcp('NodePort on the primary node IP', 'client', HOSTS.nodeIP, 30080, reach(WEB, true))),
  under('nodeport-primary', tcp('NodePort on a secondary node IP is left alone', 'client', HOSTS.secondaryNodeIP, 30080, UNTOUCHED)),
  under('nodeport-cidr', tcp('NodePort on the node IP inside the CIDR', 'client', HOSTS.secondaryNodeIP, 30080, reach(WEB, true))),
  under('nodeport-cidr', tcp('NodePort on the node IP outside the CIDR is left alone', 'client', HOSTS.nodeIP, 30080, UNTOUCHED)),
  // Service addresses no service port serves (kube-proxy nftables mode's cluster-ips-check).
  tcp('a port of a ClusterIP that no service serves', 'client', '10.96.0.10', 81, UNUSED_CLUSTER_PORT),
  tcp('a port of a ClusterIP that no service serves, from the node itself', 'node', '10.96.0.10', 81, UNUSED_CLUSTER_PORT),
  under('service-cidr', tcp('a port of a ClusterIP that no service serves, the service CIDR known', 'client', '10.96.0.10', 81, UNUSED_CLUSTER_PORT)),
  under('service-cidr', tcp('an address of the service CIDR that no service holds', 'client', '10.96.0.99', 80, UNALLOCATED_CLUSTER_IP)),
  under('service-cidr', tcp('an address of the service CIDR that no service holds, from the node itself', 'node', '10.96.0.99', 80, UNALLOCATED_CLUSTER_IP)),
  // IPv6: the dual-stack services over their IPv6 addresses, with IPv6 endpoints (the pods see IPv6 sources).
  tcp('IPv6: ClusterIP over TCP spreads over all ready endpoints, masqueraded from outside the cluster CIDR', 'client', 'fd00:10:96::10', 80, reach(WEB, true)),
  tcp('IPv6: ClusterIP from a pod keeps the pod\'s IPv6 source (the same service over IPv4 above: each family lands on its own endpoints)', 'app-1', 'fd00:10:96::10', 80, reach(WEB, false)),
  tcp('IPv6: ClusterIP from the node itself', 'node', 'fd00:10:96::10', 80, reach(WEB, true)),
  { name: 'IPv6: ClusterIP over UDP spreads over all ready endpoints', from: 'app-1', protocol: 'UDP', dst: 'fd00:10:96::11', port: 53, targetPort: 5353, expect: reach(['dns-1', 'dns-2'], false) },
  tcp('IPv6: a service without endpoints is refused at once (ICMPv6)', 'app-1', 'fd00:10:96::15', 80, { kind: 'refused' }),
  tcp('IPv6: NodePort with Cluster policy reaches every endpoint, masqueraded', 'client', HOSTS.nodeIP6, 30080, reach(WEB, true)),
  tcp('IPv6: NodePort with Local policy stays on this node and keeps the client address', 'client', HOSTS.nodeIP6, 30081, reach(['web-1'], false)),
  tcp('IPv6: NodePort with Local policy and no local endpoint drops external traffic', 'client', HOSTS.nodeIP6, 30082, { kind: 'dropped' }),
  tcp('IPv6: LoadBalancer IP from an allowed source range', 'allowed-client', '2001:db8:113::20', 80, reach(WEB, true)),
  tcp('IPv6: LoadBalancer IP from outside the source ranges is dropped', 'client', '2001:db8:113::20', 80, { kind: 'dropped' }),
];

/** The table as a backend case of this kube-proxy mode runs it. */
function flowsFor(mode: KubeProxyMode): FlowRow[] {
  return ROWS.map((row) => ({ ...row, expect: 'byMode' in row.expect ? row.expect.byMode[mode] : row.expect, settings: row.settings ?? 'fixture' }));
}

/** The rows of one settings profile, in table order: the runners load one plan per profile. */
export function flowsBySettings(mode: KubeProxyMode): { readonly settings: SettingsProfile; readonly rows: readonly FlowRow[] }[] {
  const rows = flowsFor(mode);
  return (Object.keys(SETTINGS_PROFILES) as SettingsProfile[]).map((settings) => ({ settings, rows: rows.filter((r) => r.settings === settings) }));
}

/** Source address of a probe of `family`, as the tracer needs it. */
export function sourceAddress(source: Source, family: IPFamily = 'IPv4'): string {
  const v6 = family === 'IPv6';
  switch (source) {
    case 'client':
      return v6 ? HOSTS.clientIP6 : HOSTS.clientIP;
    case 'allowed-client':
      return v6 ? HOSTS.allowedClientIP6 : HOSTS.allowedClientIP;
    case 'node':
      return v6 ? HOSTS.nodeIP6 : HOSTS.nodeIP;
    default:
      return podIP(source, family);
  }
}
