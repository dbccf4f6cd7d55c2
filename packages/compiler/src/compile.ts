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

  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of cluster.endpointSlices) {
    if (slice.addressType !== family) continue;
    const id = `${slice.namespace}/${slice.serviceName}`;
    let list = slicesByService.get(id);
    if (!list) slicesByService.set(id, (list = []));
    list.push(slice);
  }
  for (const list of slicesByService.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const servicePorts: ServicePortPlan[] = [];
  let endpointCount = 0;
  for (const service of cluster.services) {
    if (service.type === 'ExternalName' || service.headless) continue;
    const clusterIP = service.clusterIPs.find((ip) => familyOf(ip) === family);
    if (clusterIP === undefined) continue;
    const slices = slicesByService.get(`${service.namespace}/${service.name}`) ?? [];
    for (const port of service.ports) {
      const plan = compileServicePort(service, port, clusterIP, slices, settings, nodeIPs, family);
      endpointCount += plan.endpoints.length;
      servicePorts.push(plan);
    }
  }
  servicePorts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { family, settings, nodeIPs, servicePorts, endpointCount };
}

/** Endpoints of one service port, from every slice of the service, deduplicated by ip:port. */
function collectEndpoints(port: ServicePort, slices: readonly EndpointSlice[], nodeName: string): PlanEndpoint[] {
  const byAddress = new Map<string, PlanEndpoint>();
  for (const slice of slices) {
    // kube-proxy matches slice ports to service ports by name and protocol; the slice port's
    // number is the resolved target port (named targetPorts are resolved by the slice's writer).
    const slicePort = slice.ports.find((p) => p.name === port.name && p.protocol === port.protocol);
    if (!slicePort) continue;
    for (const ep of slice.endpoints) {
      const ip = ep.addresses[0];
      if (ip === undefined) continue;
      const address = endpointAddress(ip, slicePort.port);
      if (byAddress.has(address)) continue;
      byAddress.set(address, {
        ip,
        port: slicePort.port,
        address,
        isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
        ready: ep.conditions.ready,
        serving: ep.conditions.serving,
        terminating: ep.conditions.terminating,
      });
    }
  }
  return [...byAddress.values()].sort(compareEndpoints);
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
  const ofFamily = (ips: readonly string[]) => ips.filter((ip) => familyOf(ip) === family);
  const externalIPs = ofFamily(service.externalIPs);
  const loadBalancerIPs = service.type === 'LoadBalancer' ? ofFamily(service.loadBalancerIPs) : [];
  const loadBalancerSourceRanges = service.loadBalancerSourceRanges.filter((c) => familyOf(c) === family);
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
  const flags: ServicePortFlags = {
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
    usesClusterPolicyChain: usesCluster && categories.cluster.length > 0,
    usesLocalPolicyChain: usesLocal && categories.local.length > 0,
    usesExternalChain: hasEndpoints && externallyAccessible,
    usesFirewallChain,
    internalPolicy: internalPolicyLocal ? 'local' : 'cluster',
    externalPolicy: externalPolicyLocal ? 'local' : 'cluster',
    ...(!hasEndpoints ? { internalFilter: 'REJECT' as const } : !hasInternalEndpoints ? { internalFilter: 'DROP' as const } : {}),
    ...(!hasEndpoints ? { externalFilter: 'REJECT' as const } : !hasExternalEndpoints ? { externalFilter: 'DROP' as const } : {}),
    firewallAllowsNode:
      usesFirewallChain && loadBalancerSourceRanges.some((cidr) => nodeIPs.some((ip) => cidrContains(cidr, ip))),
  };
  return {
    key: servicePortKey(service.namespace, service.name, port.name),
    namespace: service.namespace,
    serviceName: service.name,
    portName: port.name,
    protocol: port.protocol,
    clusterIP,
    port: port.port,
    ...(nodePort !== undefined ? { nodePort } : {}),
    externalIPs,
    loadBalancerIPs,
    loadBalancerSourceRanges,
    ...(service.sessionAffinity ? { affinityTimeoutSeconds: service.sessionAffinity.timeoutSeconds } : {}),
    externallyAccessible,
    externalPolicyLocal,
    internalPolicyLocal,
    ...(service.healthCheckNodePort !== undefined && externalPolicyLocal
      ? { healthCheckNodePort: service.healthCheckNodePort }
      : {}),
    endpoints: categories.reachable,
    clusterEndpoints: categories.cluster,
    localEndpoints: categories.local,
    flags,
  };
}
