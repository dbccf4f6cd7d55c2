/**
 * The backend-neutral plan: what a kube-proxy-like service proxy must do on one node for one IP
 * family, with every kube-proxy decision already taken (which endpoints serve which traffic,
 * what is masqueraded, what is rejected or dropped). Backends only translate it.
 */
import type { IPFamily, Protocol } from '@kpb/model';

/** Settings of the node the rules are for (kube-proxy's flags). */
export interface NodeSettings {
  /** This node's name: endpoints with this nodeName are local. */
  readonly nodeName: string;
  /**
   * Cluster (pod) CIDR of this family, canonical. Traffic to a ClusterIP from outside it is
   * masqueraded; traffic from inside it is "pod traffic" for external Local policy. Undefined:
   * no local-traffic detection (kube-proxy's "not implemented" detector).
   */
  readonly clusterCIDR?: string;
  /** Masquerade all ClusterIP traffic (kube-proxy --masquerade-all). */
  readonly masqueradeAll: boolean;
  /** Bit of the packet mark used to request masquerading, 0..31 (kube-proxy default 14). */
  readonly masqueradeBit: number;
  /**
   * kube-proxy's --nodeport-addresses: the node addresses that accept NodePorts. `primary`: the
   * node's primary IP of each family; CIDRs (of either family, canonical): the node's addresses
   * inside them; empty: every local address (kube-proxy's iptables-mode default; its nftables
   * mode defaults to `primary`, which the CLI applies per backend).
   */
  readonly nodePortAddresses: 'primary' | readonly string[];
  /**
   * The cluster's service CIDRs (canonical, either family; kube-apiserver's
   * --service-cluster-ip-range, which kube-proxy learns from ServiceCIDR objects). nftables mode
   * drops traffic to their addresses that no service holds.
   */
  readonly serviceCIDRs: readonly string[];
  /** kube-proxy's --iptables-localhost-nodeports: IPv4 NodePorts also answer on 127.0.0.0/8 (iptables mode). */
  readonly localhostNodePorts: boolean;
}

/** An endpoint of a service port, as the rules see it. */
export interface PlanEndpoint {
  /** Canonical IP. */
  readonly ip: string;
  /** Resolved target port. */
  readonly port: number;
  /** `ip:port` (IPv6: `[ip]:port`), kube-proxy's endpoint string. */
  readonly address: string;
  /** True when the endpoint runs on this node (nodeName equals the node's name). */
  readonly isLocal: boolean;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

/** One service port: the unit kube-proxy builds chains for. */
export interface ServicePortPlan {
  /** kube-proxy's service port name: `namespace/name:portName` (`namespace/name` when unnamed). */
  readonly key: string;
  readonly namespace: string;
  readonly serviceName: string;
  readonly portName: string;
  readonly protocol: Protocol;
  /** ClusterIP of this family (canonical). */
  readonly clusterIP: string;
  readonly port: number;
  readonly nodePort?: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  /** Session affinity timeout in seconds; undefined: no affinity. */
  readonly affinityTimeoutSeconds?: number;
  /** Has a nodePort, externalIPs or load-balancer IPs. */
  readonly externallyAccessible: boolean;
  /** externalTrafficPolicy Local (only true when externally accessible). */
  readonly externalPolicyLocal: boolean;
  /** internalTrafficPolicy Local. */
  readonly internalPolicyLocal: boolean;
  readonly healthCheckNodePort?: number;
  /** Every endpoint that some chain may reach (union of cluster and local), sorted by address. */
  readonly endpoints: readonly PlanEndpoint[];
  /** Endpoints for Cluster policy (ready ones; if none, serving-and-terminating). */
  readonly clusterEndpoints: readonly PlanEndpoint[];
  /** Endpoints for Local policy: the same rule restricted to this node. */
  readonly localEndpoints: readonly PlanEndpoint[];
  /** kube-proxy's derived flags (see pkg/proxy/iptables/proxier.go syncProxyRules). */
  readonly flags: ServicePortFlags;
}

/** Decisions derived from the endpoints and policies; identical for every backend. */
export interface ServicePortFlags {
  /** Any usable endpoint at all (cluster or local). False: REJECT everything. */
  readonly hasEndpoints: boolean;
  /** Internal (ClusterIP) traffic has somewhere to go. False with hasEndpoints: DROP (internal Local). */
  readonly hasInternalEndpoints: boolean;
  /** External traffic has somewhere to go. False with hasEndpoints: DROP (external Local). */
  readonly hasExternalEndpoints: boolean;
  /** The cluster-policy chain (iptables KUBE-SVC-) exists. */
  readonly usesClusterPolicyChain: boolean;
  /** The local-policy chain (iptables KUBE-SVL-) exists. */
  readonly usesLocalPolicyChain: boolean;
  /** The external chain (iptables KUBE-EXT-) exists. */
  readonly usesExternalChain: boolean;
  /** The firewall chain (iptables KUBE-FW-) exists: LB IPs with source ranges. */
  readonly usesFirewallChain: boolean;
  /** Where internal traffic goes: 'cluster' or 'local' policy chain. */
  readonly internalPolicy: 'cluster' | 'local';
  /** Where external traffic ends up after the external chain: 'cluster' or 'local'. */
  readonly externalPolicy: 'cluster' | 'local';
  /** What filters do with internal traffic that has no endpoint: REJECT, DROP, or nothing. */
  readonly internalFilter?: 'REJECT' | 'DROP';
  /** What filters do with external traffic that has no endpoint: REJECT, DROP, or nothing. */
  readonly externalFilter?: 'REJECT' | 'DROP';
  /**
   * The firewall chain also admits the LB IPs themselves as sources (a source range contains
   * one of the node's IPs; kube-proxy's allowFromNode).
   */
  readonly firewallAllowsNode: boolean;
}

/** The whole plan for one node and IP family. */
export interface Plan {
  readonly family: IPFamily;
  readonly settings: NodeSettings;
  /** The node's own addresses of this family (from the Node object), canonical, sorted. */
  readonly nodeIPs: readonly string[];
  /**
   * Where NodePorts are accepted: `all` (every local address: kube-proxy's "match all") or these
   * addresses (sorted; may hold 127.0.0.1 when a --nodeport-addresses CIDR covers it, standing in
   * for kube-proxy's reading of the loopback interface).
   */
  readonly nodePortIPs: 'all' | readonly string[];
  /** This family's service CIDRs (from the settings). */
  readonly serviceCIDRs: readonly string[];
  /**
   * Localhost NodePorts in effect (iptables mode): asked for, IPv4, and the NodePort addresses
   * include 127.0.0.0/8 (kube-proxy turns them off otherwise).
   */
  readonly localhostNodePorts: boolean;
  /** Service ports sorted by key (code-unit order; a key is unique within a plan). */
  readonly servicePorts: readonly ServicePortPlan[];
  /** Total endpoints over all service ports (kube-proxy drops comments above 1000). */
  readonly endpointCount: number;
}

/** Which service ports differ between two plans, by service port `key`. */
export interface PlanChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  /** Node settings, node IPs or the family differ: everything must be rebuilt. */
  readonly settingsChanged: boolean;
}

/** PlanChanges with the plans behind them (what `diffPlans` returns). */
export interface PlanDiff extends PlanChanges {
  /** Old plans of the changed and removed service ports. */
  readonly before: readonly ServicePortPlan[];
  /** New plans of the added and changed service ports. */
  readonly after: readonly ServicePortPlan[];
}
