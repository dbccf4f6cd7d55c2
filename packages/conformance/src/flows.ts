/**
 * The packet-flow table: kpb's executable definition of "behaves like kube-proxy". Every backend
 * runs every row, through its in-memory tracer and with real packets on a real kernel.
 */
import { fileURLToPath } from 'node:url';

/** The fixture cluster the rows are written against. */
export const FIXTURE_FILE = fileURLToPath(new URL('../fixtures/cluster.json', import.meta.url));
export const FIXTURE_NODE = 'node-1';
export const FIXTURE_CLUSTER_CIDR = '10.244.0.0/16';

/** The virtual cluster's hosts: addresses match the fixture's Node and EndpointSlices. */
export const HOSTS = {
  nodeIP: '192.168.100.1',
  clientIP: '192.168.100.2',
  /** A second address of the client, the only source allowed by the `lb` service's source ranges. */
  allowedClientIP: '192.168.100.3',
  /** Routed by the client (and the node) towards the node: service, external and LB IPs. */
  routedToNode: ['10.96.0.0/16', '203.0.113.0/24'],
} as const;

export interface PodSpec {
  readonly name: string;
  readonly ip: string;
  readonly tcpPorts: readonly number[];
  readonly udpPorts: readonly number[];
  readonly sctpPorts: readonly number[];
}

const serving = (name: string, ip: string): PodSpec => ({ name, ip, tcpPorts: [8080, 8443], udpPorts: [5353], sctpPorts: [9999] });
export const PODS: readonly PodSpec[] = [
  serving('web-1', '10.244.1.11'),
  serving('web-2', '10.244.1.12'),
  serving('web-3', '10.244.2.13'),
  serving('dns-1', '10.244.1.21'),
  serving('dns-2', '10.244.2.22'),
  /** A pod that only sends: the pod-to-service rows start here. */
  { name: 'app-1', ip: '10.244.1.31', tcpPorts: [], udpPorts: [], sctpPorts: [] },
];
export const podIP = (name: string): string => {
  const pod = PODS.find((p) => p.name === name);
  if (!pod) throw new Error(`no pod ${name} in the conformance fixture`);
  return pod.ip;
};

/** Where a probe starts. */
export type Source = 'client' | 'allowed-client' | 'node' | 'app-1';

type Expectation =
  /** Answers come from exactly these pods, each with a fair share. `masquerade`: the pod sees another source than the sender's. */
  | { readonly kind: 'endpoints'; readonly pods: readonly string[]; readonly masquerade: boolean }
  /** ClientIP affinity: every answer comes from one and the same of these pods. */
  | { readonly kind: 'sticky'; readonly pods: readonly string[] }
  /** Refused at once (ICMP reject / RST): not left to time out. */
  | { readonly kind: 'refused' }
  /** Silently dropped: the attempt times out. */
  | { readonly kind: 'dropped' };

export interface FlowRow {
  readonly name: string;
  readonly from: Source;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly dst: string;
  readonly port: number;
  /** The port the endpoints are reached on (the resolved target port). */
  readonly targetPort: number;
  readonly expect: Expectation;
}

const WEB = ['web-1', 'web-2', 'web-3'];
const tcp = (name: string, from: Source, dst: string, port: number, expect: Expectation, targetPort = 8080): FlowRow => ({ name, from, protocol: 'TCP', dst, port, targetPort, expect });
const reach = (pods: readonly string[], masquerade: boolean): Expectation => ({ kind: 'endpoints', pods, masquerade });

export const FLOWS: readonly FlowRow[] = [
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
];

/** Source address of a probe, as the tracer needs it. */
export function sourceAddress(source: Source): string {
  switch (source) {
    case 'client':
      return HOSTS.clientIP;
    case 'allowed-client':
      return HOSTS.allowedClientIP;
    case 'node':
      return HOSTS.nodeIP;
    default:
      return podIP(source);
  }
}
