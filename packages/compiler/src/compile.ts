/**
 * Model → plan. Pure and deterministic: the same cluster and settings always give the same plan.
 */
import type { Cluster, EndpointSlice, IPFamily, Service, ServicePort } from '@kpb/model';
import { cidrContains, familyOfValid as familyOf } from '@kpb/model/net';
import { categorizeEndpoints, compareEndpoints } from './endpoints.ts';
import type { NodeSettings, Plan, PlanEndpoint, ServicePortFlags, ServicePortPlan } from './types.ts';

const DEFAULT_MASQUERADE_BIT = 14;

/** kube-proxy's defaults for everything but the node name. */
export function nodeSettings(partial: Partial<NodeSettings> & { nodeName: string }): NodeSettings {
  const settings: NodeSettings = {
    nodeName: partial.nodeName,
    masqueradeAll: partial.masqueradeAll ?? false,
    masqueradeBit: partial.masqueradeBit ?? DEFAULT_MASQUERADE_BIT,
    ...(partial.clusterCIDR !== undefined ? { clusterCIDR: partial.clusterCIDR } : {}),
  };
  if (!Number.isInteger(settings.masqueradeBit) || settings.masqueradeBit < 0 || settings.masqueradeBit > 31) {
    throw new RangeError(`masquerade bit ${settings.masqueradeBit} is not a whole number from 0 to 31`);
  }
  return settings;
}

/** The mark kube-proxy sets on packets to be masqueraded: 1 << bit, as an unsigned number. */
export function masqueradeMark(settings: NodeSettings): number {
  return (1 << settings.masqueradeBit) >>> 0;
}

function servicePortKey(namespace: string, name: string, portName: string): string {
  return portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`;
}

function endpointAddress(ip: string, port: number): string {
  return familyOf(ip) === 'IPv6' ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The addresses of `family`; the array itself when all are (no copy in the common case). */
function ofFamily(ips: readonly string[], family: IPFamily): readonly string[] {
  for (let i = 0; i < ips.length; i++) {
    if (familyOf(ips[i]!) !== family) return ips.filter((ip) => familyOf(ip) === family);
  }
  return ips;
}

/** Slices of `family` by namespace, then service name, each list sorted by slice name. */
type SlicesByService = Map<string, Map<string, EndpointSlice[]>>;

function groupSlices(slices: readonly EndpointSlice[], family: IPFamily): SlicesByService {
  const byNamespace: SlicesByService = new Map();
  for (const slice of slices) {
    if (slice.addressType !== family) continue;
    let byName = byNamespace.get(slice.namespace);
    if (!byName) byNamespace.set(slice.namespace, (byName = new Map()));
    const list = byName.get(slice.serviceName);
    if (list) list.push(slice);
    else byName.set(slice.serviceName, [slice]);
  }
  for (const byName of byNamespace.values()) {
    for (const list of byName.values()) if (list.length > 1) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return byNamespace;
}

const NO_SLICES: readonly EndpointSlice[] = [];
const NO_IPS: readonly string[] = [];

/** An object under construction: members writable and not yet all there. */
type Building<T> = { -readonly [K in keyof T]?: T[K] };

/** Compile a validated cluster into the plan for one node and IP family. */
export function compile(cluster: Cluster, settings: NodeSettings, family: IPFamily = 'IPv4'): Plan {
  if (settings.clusterCIDR !== undefined && familyOf(settings.clusterCIDR) !== family) {
    throw new RangeError(`cluster CIDR ${settings.clusterCIDR} is not an ${family} range`);
  }
  const node = cluster.nodes.find((n) => n.name === settings.nodeName);
  const nodeIPs = [
    ...new Set(
      (node?.addresses ?? [])
        .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
        .map((a) => a.address)
        .filter((ip) => familyOf(ip) === family),
    ),
  ].sort();

  const slicesByService = groupSlices(cluster.endpointSlices, family);
  const servicePorts: ServicePortPlan[] = [];
  let endpointCount = 0;
  for (const service of cluster.services) {
    if (service.type === 'ExternalName' || service.headless) continue;
    const clusterIP = ofFamily(service.clusterIPs, family)[0];
    if (clusterIP === undefined) continue;
    const slices = slicesByService.get(service.namespace)?.get(service.name) ?? NO_SLICES;
    for (const port of service.ports) {
      const plan = compileServicePort(service, port, clusterIP, slices, settings, nodeIPs, family);
      endpointCount += plan.endpoints.length;
      servicePorts.push(plan);
    }
  }
  servicePorts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { family, settings, nodeIPs, servicePorts, endpointCount };
}

function slicePortNumber(slice: EndpointSlice, port: ServicePort): number | undefined {
  for (const p of slice.ports) if (p.name === port.name && p.protocol === port.protocol) return p.port;
  return undefined;
}

function holdsAddress(endpoints: readonly PlanEndpoint[], address: string): boolean {
  for (const e of endpoints) if (e.address === address) return true;
  return false;
}

/** Endpoints of one service port, from every slice of the service, deduplicated by ip:port. */
function collectEndpoints(port: ServicePort, slices: readonly EndpointSlice[], nodeName: string): PlanEndpoint[] {
  const out: PlanEndpoint[] = [];
  let seen: Set<string> | undefined;
  for (const slice of slices) {
    // kube-proxy matches slice ports to service ports by name and protocol; the slice port's
    // number is the resolved target port (named targetPorts are resolved by the slice's writer).
    const slicePort = slicePortNumber(slice, port);
    if (slicePort === undefined) continue;
    for (const ep of slice.endpoints) {
      const ip = ep.addresses[0];
      if (ip === undefined) continue;
      const address = endpointAddress(ip, slicePort);
      // A few endpoints: a scan is cheaper than a set; many: the set keeps it linear.
      if (out.length < 16 ? holdsAddress(out, address) : (seen ??= new Set(out.map((e) => e.address))).has(address)) continue;
      seen?.add(address);
      const { ready, serving, terminating } = ep.conditions;
      out.push({ ip, port: slicePort, address, isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName, ready, serving, terminating });
    }
  }
  return out.length > 1 ? out.sort(compareEndpoints) : out;
}

/** Whether a load-balancer source range admits one of the node's own addresses. */
function rangesHoldNode(ranges: readonly string[], nodeIPs: readonly string[]): boolean {
  return ranges.some((cidr) => nodeIPs.some((ip) => cidrContains(cidr, ip)));
}

function compileServicePort(
  service: Service,
  port: ServicePort,
  clusterIP: string,
  slices: readonly EndpointSlice[],
  settings: NodeSettings,
  nodeIPs: readonly string[],
  family: IPFamily,
): ServicePortPlan {
  const externalIPs = ofFamily(service.externalIPs, family);
  const loadBalancerIPs = service.type === 'LoadBalancer' ? ofFamily(service.loadBalancerIPs, family) : NO_IPS;
  const loadBalancerSourceRanges = ofFamily(service.loadBalancerSourceRanges, family);
  const nodePort = service.type === 'NodePort' || service.type === 'LoadBalancer' ? port.nodePort : undefined;
  const externallyAccessible = nodePort !== undefined || externalIPs.length > 0 || loadBalancerIPs.length > 0;
  const externalPolicyLocal = externallyAccessible && service.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = service.internalTrafficPolicy === 'Local';
  const usesCluster = !internalPolicyLocal || externallyAccessible;
  const usesLocal = internalPolicyLocal || externalPolicyLocal;

  const all = collectEndpoints(port, slices, settings.nodeName);
  const categories = categorizeEndpoints(all, usesCluster, usesLocal);
  const hasEndpoints = categories.hasAny;
  const hasInternalEndpoints = hasEndpoints && !(internalPolicyLocal && categories.local.length === 0);
  const hasExternalEndpoints = hasEndpoints && !(externalPolicyLocal && categories.local.length === 0);
  const usesFirewallChain = hasEndpoints && loadBalancerIPs.length > 0 && loadBalancerSourceRanges.length > 0;
  // Optional members are added in place, in the order a reader (and JSON.stringify) sees them.
  const flags: Building<ServicePortFlags> = {
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
    usesClusterPolicyChain: usesCluster && categories.cluster.length > 0,
    usesLocalPolicyChain: usesLocal && categories.local.length > 0,
    usesExternalChain: hasEndpoints && externallyAccessible,
    usesFirewallChain,
    internalPolicy: internalPolicyLocal ? 'local' : 'cluster',
    externalPolicy: externalPolicyLocal ? 'local' : 'cluster',
  };
  if (!hasInternalEndpoints) flags.internalFilter = hasEndpoints ? 'DROP' : 'REJECT';
  if (!hasExternalEndpoints) flags.externalFilter = hasEndpoints ? 'DROP' : 'REJECT';
  flags.firewallAllowsNode = usesFirewallChain && rangesHoldNode(loadBalancerSourceRanges, nodeIPs);

  const plan: Building<ServicePortPlan> = {
    key: servicePortKey(service.namespace, service.name, port.name),
    namespace: service.namespace,
    serviceName: service.name,
    portName: port.name,
    protocol: port.protocol,
    clusterIP,
    port: port.port,
  };
  if (nodePort !== undefined) plan.nodePort = nodePort;
  plan.externalIPs = externalIPs;
  plan.loadBalancerIPs = loadBalancerIPs;
  plan.loadBalancerSourceRanges = loadBalancerSourceRanges;
  if (service.sessionAffinity) plan.affinityTimeoutSeconds = service.sessionAffinity.timeoutSeconds;
  plan.externallyAccessible = externallyAccessible;
  plan.externalPolicyLocal = externalPolicyLocal;
  plan.internalPolicyLocal = internalPolicyLocal;
  if (service.healthCheckNodePort !== undefined && externalPolicyLocal) plan.healthCheckNodePort = service.healthCheckNodePort;
  plan.endpoints = categories.reachable;
  plan.clusterEndpoints = categories.cluster;
  plan.localEndpoints = categories.local;
  plan.flags = flags as ServicePortFlags;
  return plan as ServicePortPlan;
}
