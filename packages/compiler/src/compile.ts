/**
 * Model → plan. Pure and deterministic: the same cluster and settings always give the same plan.
 */
import type { Cluster, EndpointSlice, IPFamily, Service, ServicePort } from '@kpb/model';
import { cidrContains, familyOfValid as familyOf } from '@kpb/model/net';
import { categorizeEndpoints, sortEndpoints, sortInPlace, type EndpointCategories } from './endpoints.ts';
import type { NodeSettings, Plan, PlanEndpoint, ServicePortFlags, ServicePortPlan } from './types.ts';

const DEFAULT_MASQUERADE_BIT = 14;

/** kube-proxy's defaults for everything but the node name. */
export function nodeSettings(partial: Partial<NodeSettings> & { nodeName: string }): NodeSettings {
  const settings: NodeSettings = {
    nodeName: partial.nodeName,
    masqueradeAll: partial.masqueradeAll ?? false,
    masqueradeBit: partial.masqueradeBit ?? DEFAULT_MASQUERADE_BIT,
    nodePortAddresses: partial.nodePortAddresses ?? [],
    serviceCIDRs: partial.serviceCIDRs ?? [],
    localhostNodePorts: partial.localhostNodePorts ?? true,
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
    for (const list of byName.values()) if (list.length > 1) sortInPlace(list, bySliceName);
  }
  return byNamespace;
}

function bySliceName(a: EndpointSlice, b: EndpointSlice): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
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
  const nodePorts = nodePortAddresses(settings, node?.addresses ?? [], nodeIPs, family);
  const serviceCIDRs = settings.serviceCIDRs.filter((c) => familyOf(c) === family);
  return { family, settings, nodeIPs, ...nodePorts, serviceCIDRs, servicePorts, endpointCount };
}

const ZERO_CIDR = { IPv4: '0.0.0.0/0', IPv6: '::/0' } as const;
const IPV4_LOOPBACK = '127.0.0.1';

/**
 * kube-proxy's NodePortAddresses for one family: `primary` is the node's primary IP (its first
 * InternalIP of the family, else its first ExternalIP; none: every address), no CIDR of the
 * family or a zero CIDR matches every local address, and otherwise the node's addresses inside
 * the CIDRs accept NodePorts. kube-proxy reads those from the node's interfaces; kpb takes the
 * Node object's addresses, and 127.0.0.1 for a CIDR that covers it (the loopback interface).
 */
function nodePortAddresses(
  settings: NodeSettings,
  addresses: readonly { type: string; address: string }[],
  nodeIPs: readonly string[],
  family: IPFamily,
): Pick<Plan, 'nodePortIPs' | 'localhostNodePorts'> {
  let cidrs: readonly string[];
  if (settings.nodePortAddresses === 'primary') {
    const ofType = (type: string) => addresses.find((a) => a.type === type && familyOf(a.address) === family)?.address;
    const primary = ofType('InternalIP') ?? ofType('ExternalIP');
    cidrs = primary === undefined ? [] : [`${primary}/${family === 'IPv4' ? 32 : 128}`];
  } else {
    cidrs = settings.nodePortAddresses.filter((c) => familyOf(c) === family);
  }
  if (cidrs.length === 0) cidrs = [ZERO_CIDR[family]];
  const localhost = settings.localhostNodePorts && family === 'IPv4' && cidrs.some((c) => cidrContains(c, IPV4_LOOPBACK));
  if (cidrs.includes(ZERO_CIDR[family])) return { nodePortIPs: 'all', localhostNodePorts: localhost };
  const candidates = family === 'IPv4' ? [...nodeIPs, IPV4_LOOPBACK] : nodeIPs;
  const ips = [...new Set(candidates.filter((ip) => cidrs.some((c) => cidrContains(c, ip))))].sort();
  return { nodePortIPs: ips, localhostNodePorts: localhost };
}

function slicePortNumber(slice: EndpointSlice, port: ServicePort): number | undefined {
  for (const p of slice.ports) if (p.name === port.name && p.protocol === port.protocol) return p.port;
  return undefined;
}

/** Whether the first `count` of `endpoints` hold ip:port (the same as holding its address: ip and port determine it). */
function holdsEndpoint(endpoints: readonly PlanEndpoint[], count: number, ip: string, port: number): boolean {
  for (let i = 0; i < count; i++) {
    const e = endpoints[i]!;
    if (e.port === port && e.ip === ip) return true;
  }
  return false;
}

/** Endpoints of one service port, from every slice of the service, deduplicated by ip:port. */
function collectEndpoints(port: ServicePort, slices: readonly EndpointSlice[], nodeName: string): PlanEndpoint[] {
  let capacity = 0;
  for (const slice of slices) if (slicePortNumber(slice, port) !== undefined) capacity += slice.endpoints.length;
  // Sized up front: the plan keeps this array, and one grown by push has room for 17 entries.
  const out = new Array<PlanEndpoint>(capacity);
  let count = 0;
  let seen: Set<string> | undefined;
  for (const slice of slices) {
    // kube-proxy matches slice ports to service ports by name and protocol; the slice port's
    // number is the resolved target port (named targetPorts are resolved by the slice's writer).
    const slicePort = slicePortNumber(slice, port);
    if (slicePort === undefined) continue;
    for (const ep of slice.endpoints) {
      const ip = ep.addresses[0];
      if (ip === undefined) continue;
      // A few endpoints: a scan is cheaper than a set; many: the set keeps it linear.
      if (count < 16 && holdsEndpoint(out, count, ip, slicePort)) continue;
      const address = endpointAddress(ip, slicePort);
      if (count >= 16) {
        seen ??= addressSet(out, count);
        if (seen.has(address)) continue;
        seen.add(address);
      }
      const { ready, serving, terminating } = ep.conditions;
      out[count++] = { ip, port: slicePort, address, isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName, ready, serving, terminating };
    }
  }
  if (count < capacity) out.length = count;
  return count > 1 ? sortEndpoints(out) : out;
}

function addressSet(endpoints: readonly PlanEndpoint[], count: number): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i < count; i++) set.add(endpoints[i]!.address);
  return set;
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
  const usesFirewallChain = hasEndpoints && loadBalancerIPs.length > 0 && loadBalancerSourceRanges.length > 0;
  const flags = servicePortFlags(
    categories, usesCluster, usesLocal, externallyAccessible, internalPolicyLocal, externalPolicyLocal,
    usesFirewallChain, usesFirewallChain && rangesHoldNode(loadBalancerSourceRanges, nodeIPs),
  );
  // One object literal, in the order a reader (and JSON.stringify, hence the plan digest) sees
  // the members: members added one by one after a literal go to a property array that is grown
  // and copied as they come (2-3x the cost of the literal, in a micro-benchmark).
  const plan: ServicePortPlan = {
    key: servicePortKey(service.namespace, service.name, port.name),
    namespace: service.namespace,
    serviceName: service.name,
    portName: port.name,
    protocol: port.protocol,
    clusterIP,
    port: port.port,
    externalIPs,
    loadBalancerIPs,
    loadBalancerSourceRanges,
    externallyAccessible,
    externalPolicyLocal,
    internalPolicyLocal,
    endpoints: categories.reachable,
    clusterEndpoints: categories.cluster,
    localEndpoints: categories.local,
    flags,
  };
  const healthCheckNodePort = externalPolicyLocal ? service.healthCheckNodePort : undefined;
  if (nodePort === undefined && service.sessionAffinity === undefined && healthCheckNodePort === undefined) return plan;
  return withOptionalMembers(plan, nodePort, service.sessionAffinity?.timeoutSeconds, healthCheckNodePort);
}

/** `plan` with the optional members set, each in its place in the member order. */
function withOptionalMembers(
  plan: ServicePortPlan,
  nodePort: number | undefined,
  affinityTimeoutSeconds: number | undefined,
  healthCheckNodePort: number | undefined,
): ServicePortPlan {
  const out: Building<ServicePortPlan> = {
    key: plan.key,
    namespace: plan.namespace,
    serviceName: plan.serviceName,
    portName: plan.portName,
    protocol: plan.protocol,
    clusterIP: plan.clusterIP,
    port: plan.port,
  };
  if (nodePort !== undefined) out.nodePort = nodePort;
  out.externalIPs = plan.externalIPs;
  out.loadBalancerIPs = plan.loadBalancerIPs;
  out.loadBalancerSourceRanges = plan.loadBalancerSourceRanges;
  if (affinityTimeoutSeconds !== undefined) out.affinityTimeoutSeconds = affinityTimeoutSeconds;
  out.externallyAccessible = plan.externallyAccessible;
  out.externalPolicyLocal = plan.externalPolicyLocal;
  out.internalPolicyLocal = plan.internalPolicyLocal;
  if (healthCheckNodePort !== undefined) out.healthCheckNodePort = healthCheckNodePort;
  out.endpoints = plan.endpoints;
  out.clusterEndpoints = plan.clusterEndpoints;
  out.localEndpoints = plan.localEndpoints;
  out.flags = plan.flags;
  return out as ServicePortPlan;
}

/** kube-proxy's derived flags; one literal when traffic has somewhere to go (the common case). */
function servicePortFlags(
  categories: EndpointCategories,
  usesCluster: boolean,
  usesLocal: boolean,
  externallyAccessible: boolean,
  internalPolicyLocal: boolean,
  externalPolicyLocal: boolean,
  usesFirewallChain: boolean,
  firewallAllowsNode: boolean,
): ServicePortFlags {
  const hasEndpoints = categories.hasAny;
  const noLocal = categories.local.length === 0;
  const hasInternalEndpoints = hasEndpoints && !(internalPolicyLocal && noLocal);
  const hasExternalEndpoints = hasEndpoints && !(externalPolicyLocal && noLocal);
  const usesClusterPolicyChain = usesCluster && categories.cluster.length > 0;
  const usesLocalPolicyChain = usesLocal && !noLocal;
  const usesExternalChain = hasEndpoints && externallyAccessible;
  const internalPolicy = internalPolicyLocal ? 'local' : 'cluster';
  const externalPolicy = externalPolicyLocal ? 'local' : 'cluster';
  if (hasInternalEndpoints && hasExternalEndpoints) {
    return {
      hasEndpoints, hasInternalEndpoints, hasExternalEndpoints, usesClusterPolicyChain, usesLocalPolicyChain, usesExternalChain,
      usesFirewallChain, internalPolicy, externalPolicy, firewallAllowsNode,
    };
  }
  const flags: Building<ServicePortFlags> = {
    hasEndpoints, hasInternalEndpoints, hasExternalEndpoints, usesClusterPolicyChain, usesLocalPolicyChain, usesExternalChain,
    usesFirewallChain, internalPolicy, externalPolicy,
  };
  if (!hasInternalEndpoints) flags.internalFilter = hasEndpoints ? 'DROP' : 'REJECT';
  if (!hasExternalEndpoints) flags.externalFilter = hasEndpoints ? 'DROP' : 'REJECT';
  flags.firewallAllowsNode = firewallAllowsNode;
  return flags as ServicePortFlags;
}

/**
 * The IP families a cluster's input holds: those of its services' cluster IPs (dual when some
 * service has both, as kube-proxy programs both on a dual-stack node); without any, those of
 * its EndpointSlices; IPv4 when neither says.
 */
export function clusterFamilies(cluster: Cluster): IPFamily[] {
  const seen = new Set<IPFamily>();
  for (const s of cluster.services) for (const ip of s.clusterIPs) seen.add(familyOf(ip));
  if (seen.size === 0) for (const slice of cluster.endpointSlices) if (slice.addressType !== 'FQDN') seen.add(slice.addressType);
  const families = (['IPv4', 'IPv6'] as const).filter((f) => seen.has(f));
  return families.length > 0 ? families : ['IPv4'];
}

/**
 * One plan per family (kube-proxy runs one proxier per family), IPv4 first. Each family's plan
 * gets that family's cluster CIDR from `clusterCIDRs` (at most one per family; none: no
 * local-traffic detection for it); `settings.clusterCIDR` is not used.
 */
export function compileFamilies(cluster: Cluster, settings: NodeSettings, families: readonly IPFamily[], clusterCIDRs: readonly string[]): Plan[] {
  const { clusterCIDR: _unused, ...common } = settings;
  return (['IPv4', 'IPv6'] as const)
    .filter((f) => families.includes(f))
    .map((family) => {
      const cidrs = clusterCIDRs.filter((c) => familyOf(c) === family);
      if (cidrs.length > 1) throw new RangeError(`more than one ${family} cluster CIDR: ${cidrs.join(', ')}`);
      return compile(cluster, cidrs[0] === undefined ? common : { ...common, clusterCIDR: cidrs[0] }, family);
    });
}
