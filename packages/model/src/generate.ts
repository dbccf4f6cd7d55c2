/**
 * A seeded generator of realistic clusters, for tests and benchmarks. The same options give
 * the same cluster, byte for byte; nothing here reads the clock or `Math.random`.
 *
 * Address plan (disjoint, sized for 100k services × 3 endpoints and more):
 * - ClusterIPs from 10.96.0.0/12, starting at 10.96.0.10 (about 1M addresses);
 * - pod IPs from 10.128.0.0/9 ({@link GENERATED_CLUSTER_CIDR}, about 8M addresses);
 * - external and load-balancer IPs from 203.0.113.0/24, then 198.51.100.0/24, then 100.64.0.0/10;
 * - node InternalIPs from 192.168.0.10 upwards;
 * - IPv6 and dual-stack clusters: the same cluster with IPv6 twins of these (generate-family.ts);
 * - NodePorts unique in 30000–32767; when they run out, would-be NodePort and LoadBalancer
 *   services become ClusterIP.
 */
import type { Cluster, Endpoint, EndpointPort, EndpointSlice, Node, Protocol, Service, ServicePort } from './types.ts';
import { ipv4FromInt, ipv4ToInt } from './net.ts';
import { sortByNamespaceName } from './validate.ts';
import { inFamilies, type GeneratedFamilies } from './generate-family.ts';
import { mulberry32 } from './rand.ts';

export { mulberry32 } from './rand.ts';

/** Pod network of generated clusters. */
export const GENERATED_CLUSTER_CIDR = '10.128.0.0/9';
/** The node generated endpoints are spread over first; use it as the local node. */
export const GENERATED_LOCAL_NODE = 'node-0';
const GENERATED_NODE_PORT_RANGE = { first: 30000, last: 32767 } as const;

/** Fractions (0..1) of services, ports or endpoints with each feature. */
export interface Mix {
  /** Services of type NodePort. */
  readonly nodePort: number;
  /** Services of type LoadBalancer (each with one ingress IP). */
  readonly loadBalancer: number;
  /** LoadBalancer services with loadBalancerSourceRanges (fraction of LoadBalancer services). */
  readonly sourceRanges: number;
  /** Services with 2–3 named ports. */
  readonly multiPort: number;
  /** Service ports using UDP. */
  readonly udp: number;
  /** Ports whose targetPort differs from port; a third of those in multi-port services use a named targetPort. */
  readonly targetPortDiffers: number;
  /** Services with ClientIP session affinity. */
  readonly clientIP: number;
  /** Services (of all) with externalTrafficPolicy Local; only NodePort/LoadBalancer services get it. */
  readonly externalLocal: number;
  /** Services with internalTrafficPolicy Local. */
  readonly internalLocal: number;
  /** Services with one external IP. */
  readonly externalIPs: number;
  /** Services without endpoints (half of them with an empty slice, half with none). */
  readonly noEndpoints: number;
  /** Endpoints not ready (and not serving). */
  readonly notReady: number;
  /** Endpoints terminating (not ready; half of them still serving). */
  readonly terminating: number;
  /** Services whose endpoints are split over two slices (always when a slice would exceed 100). */
  readonly splitSlices: number;
}

export const DEFAULT_MIX: Mix = {
  nodePort: 0.1,
  loadBalancer: 0.03,
  sourceRanges: 1 / 3,
  multiPort: 0.1,
  udp: 0.1,
  targetPortDiffers: 0.3,
  clientIP: 0.05,
  externalLocal: 0.05,
  internalLocal: 0.02,
  externalIPs: 0.02,
  noEndpoints: 0.03,
  notReady: 0.03,
  terminating: 0.01,
  splitSlices: 0.1,
};

export interface GenerateOptions {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly seed: number;
  /** Number of nodes (default 3). */
  readonly nodes?: number;
  /** Number of namespaces (default: one per 50 services, at least 1). */
  readonly namespaces?: number;
  readonly mix?: Partial<Mix>;
  /** IPv4 (default), IPv6, or dual-stack (generate-family.ts); the IPv4 cluster of a seed is the same whatever else is asked. */
  readonly families?: GeneratedFamilies;
}

const MAX_SLICE_ENDPOINTS = 100;
const SLICE_SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const SINGLE_PORTS: readonly number[] = [80, 443, 8080, 8443, 3306, 5432, 6379, 9090, 9100, 27017];
const UDP_PORTS: readonly number[] = [53, 514, 1812, 5353, 8125];
const NAMED_PORTS: readonly { name: string; port: number }[] = [
  { name: 'http', port: 80 }, { name: 'https', port: 443 }, { name: 'metrics', port: 9090 },
  { name: 'grpc', port: 9000 }, { name: 'admin', port: 8081 }, { name: 'dns', port: 53 },
];
const SOURCE_RANGES: readonly (readonly string[])[] = [['192.0.2.0/24'], ['10.0.0.0/8', '172.16.0.0/12'], ['198.18.0.0/15']];

class Pool {
  private next = 0;
  constructor(private readonly ranges: readonly { first: number; count: number }[], private readonly what: string) {}
  take(): string {
    let n = this.next++;
    for (const r of this.ranges) {
      if (n < r.count) return ipv4FromInt(r.first + n);
      n -= r.count;
    }
    throw new RangeError(`generateCluster: out of ${this.what} addresses`);
  }
}

function checkCount(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`generateCluster: ${name} must be an integer in 0..${max}, got ${v}`);
}

/** Generates a deterministic, valid cluster (services and slices sorted by namespace/name). */
export function generateCluster(options: GenerateOptions): Cluster {
  const { services: count, endpointsPerService: perService, seed } = options;
  const nodeCount = options.nodes ?? 3;
  checkCount('services', count, 1_000_000);
  checkCount('endpointsPerService', perService, 10_000);
  checkCount('nodes', nodeCount, 60_000);
  if (nodeCount < 1) throw new RangeError('generateCluster: nodes must be at least 1');
  const nsCount = options.namespaces ?? Math.max(1, Math.ceil(count / 50));
  checkCount('namespaces', nsCount, 100_000);
  if (nsCount < 1) throw new RangeError('generateCluster: namespaces must be at least 1');
  const gen = new ClusterGenerator({ ...DEFAULT_MIX, ...options.mix }, seed);

  const nodes: Node[] = [];
  const nodeBase = ipv4ToInt('192.168.0.10');
  for (let i = 0; i < nodeCount; i++) {
    nodes.push({
      name: `node-${i}`,
      addresses: [{ type: 'InternalIP', address: ipv4FromInt(nodeBase + i) }, { type: 'Hostname', address: `node-${i}` }],
    });
  }

  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < count; i++) {
    const namespace = `ns-${i % nsCount}`;
    const name = `svc-${i}`;
    const { service, ports } = gen.service(namespace, name);
    services.push(service);
    slices.push(...gen.endpointSlices(namespace, name, ports, perService, nodeCount));
  }

  sortByNamespaceName(services);
  sortByNamespaceName(slices);
  nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return inFamilies({ services, endpointSlices: slices, nodes }, options.families ?? 'IPv4', seed);
}

/** A generated port: the service port, the resolved target number (what the slice carries), and targetPort as written. */
interface PortSpec {
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
  readonly target: number;
  readonly targetPort: number | string;
}

/** The state of one generation: the random stream (drawn in a fixed order), address pools, next node port. */
class ClusterGenerator {
  readonly #mix: Mix;
  readonly #rand: () => number;
  /** The share of NodePort/LoadBalancer services that get externalTrafficPolicy Local. */
  readonly #localShare: number;
  readonly #clusterIPs = new Pool([{ first: ipv4ToInt('10.96.0.10'), count: (1 << 20) - 10 }], 'ClusterIP');
  readonly #podIPs = new Pool([{ first: ipv4ToInt('10.128.0.10'), count: (1 << 23) - 10 }], 'pod IP');
  readonly #extIPs = new Pool([
    { first: ipv4ToInt('203.0.113.1'), count: 254 },
    { first: ipv4ToInt('198.51.100.1'), count: 254 },
    { first: ipv4ToInt('100.64.0.1'), count: (1 << 22) - 2 },
  ], 'external');
  #nextNodePort: number = GENERATED_NODE_PORT_RANGE.first;

  constructor(mix: Mix, seed: number) {
    this.#mix = mix;
    this.#rand = mulberry32(seed);
    this.#localShare = Math.min(1, mix.externalLocal / Math.max(1e-9, mix.nodePort + mix.loadBalancer));
  }

  #chance(p: number): boolean {
    return this.#rand() < p;
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#rand() * xs.length)]!;
  }

  /** One port, or 2–3 named ports. */
  #portSpecs(): PortSpec[] {
    const mix = this.#mix;
    const specs: PortSpec[] = [];
    if (this.#chance(mix.multiPort)) {
      const n = 2 + Math.floor(this.#rand() * 2);
      const start = Math.floor(this.#rand() * NAMED_PORTS.length);
      for (let k = 0; k < n; k++) {
        const np = NAMED_PORTS[(start + k) % NAMED_PORTS.length]!;
        const protocol: Protocol = this.#chance(mix.udp) ? 'UDP' : 'TCP';
        const differs = this.#chance(mix.targetPortDiffers);
        const target = differs ? 8000 + np.port % 1000 + k : np.port;
        const named = differs && this.#chance(1 / 3);
        specs.push({ name: np.name, protocol, port: np.port, target, targetPort: named ? `${np.name}-pod` : target });
      }
    } else {
      const udp = this.#chance(mix.udp);
      const port = udp ? this.#pick(UDP_PORTS) : this.#pick(SINGLE_PORTS);
      const target = this.#chance(mix.targetPortDiffers) ? (port === 8080 ? 8081 : 8080) : port;
      specs.push({ name: '', protocol: udp ? 'UDP' : 'TCP', port, target, targetPort: target });
    }
    return specs;
  }

  service(namespace: string, name: string): { service: Service; ports: PortSpec[] } {
    const mix = this.#mix;
    const r = this.#rand();
    let type: Service['type'] = r < mix.loadBalancer ? 'LoadBalancer' : r < mix.loadBalancer + mix.nodePort ? 'NodePort' : 'ClusterIP';
    const specs = this.#portSpecs();
    let externalTrafficPolicy: Service['externalTrafficPolicy'] = 'Cluster';
    let healthCheckNodePort: number | undefined;
    if (type !== 'ClusterIP') {
      externalTrafficPolicy = this.#chance(this.#localShare) ? 'Local' : 'Cluster';
      const needed = specs.length + (externalTrafficPolicy === 'Local' ? 1 : 0);
      if (this.#nextNodePort + needed - 1 > GENERATED_NODE_PORT_RANGE.last) {
        type = 'ClusterIP';
        externalTrafficPolicy = 'Cluster';
      }
    }
    const ports: ServicePort[] = specs.map((p) => {
      const base = { name: p.name, protocol: p.protocol, port: p.port, targetPort: p.targetPort };
      return type === 'ClusterIP' ? base : { ...base, nodePort: this.#nextNodePort++ };
    });
    if (externalTrafficPolicy === 'Local') {
      // Only a LoadBalancer service gets a health check node port (the API server refuses one
      // elsewhere, validateServiceExternalTrafficPolicy); a NodePort one still uses up the number
      // so that every later node port stays what it was for the same seed.
      const hc = this.#nextNodePort++;
      if (type === 'LoadBalancer') healthCheckNodePort = hc;
    }

    const svc: { -readonly [K in keyof Service]: Service[K] } = {
      namespace, name, type,
      clusterIPs: [this.#clusterIPs.take()],
      headless: false,
      ports,
      externalIPs: this.#chance(mix.externalIPs) ? [this.#extIPs.take()] : [],
      loadBalancerIPs: type === 'LoadBalancer' ? [this.#extIPs.take()] : [],
      loadBalancerSourceRanges: type === 'LoadBalancer' && this.#chance(mix.sourceRanges) ? this.#pick(SOURCE_RANGES) : [],
      externalTrafficPolicy,
      internalTrafficPolicy: this.#chance(mix.internalLocal) ? 'Local' : 'Cluster',
    };
    if (this.#chance(mix.clientIP)) svc.sessionAffinity = { timeoutSeconds: this.#chance(0.8) ? 10800 : 3600 };
    if (healthCheckNodePort !== undefined) svc.healthCheckNodePort = healthCheckNodePort;
    return { service: svc, ports: specs };
  }

  /** The service's slices: none or one empty (no endpoints), else its endpoints in one or more slices. */
  endpointSlices(namespace: string, name: string, specs: readonly PortSpec[], perService: number, nodeCount: number): EndpointSlice[] {
    const mix = this.#mix;
    const slicePorts: EndpointPort[] = specs.map((p) => ({ name: p.name, protocol: p.protocol, port: p.target }));
    const suffixes = new Set<string>();
    const sliceName = (): string => {
      for (;;) {
        let s = '';
        for (let k = 0; k < 5; k++) s += SLICE_SUFFIX_CHARS[Math.floor(this.#rand() * SLICE_SUFFIX_CHARS.length)];
        if (!suffixes.has(s)) {
          suffixes.add(s);
          return `${name}-${s}`;
        }
      }
    };
    const slice = (endpoints: Endpoint[]): EndpointSlice => ({ namespace, name: sliceName(), serviceName: name, addressType: 'IPv4', ports: slicePorts, endpoints });
    if (perService === 0 || this.#chance(mix.noEndpoints)) return this.#chance(0.5) ? [slice([])] : [];
    const endpoints: Endpoint[] = [];
    const nodeOffset = Math.floor(this.#rand() * nodeCount);
    for (let k = 0; k < perService; k++) {
      const e = this.#rand();
      const conditions = e < mix.terminating
        ? { ready: false, serving: this.#chance(0.5), terminating: true }
        : e < mix.terminating + mix.notReady
          ? { ready: false, serving: false, terminating: false }
          : { ready: true, serving: true, terminating: false };
      endpoints.push({ addresses: [this.#podIPs.take()], conditions, nodeName: `node-${(nodeOffset + k) % nodeCount}` });
    }
    let chunk = endpoints.length;
    if (chunk > MAX_SLICE_ENDPOINTS) chunk = MAX_SLICE_ENDPOINTS;
    else if (chunk >= 2 && this.#chance(mix.splitSlices)) chunk = Math.ceil(chunk / 2);
    const slices: EndpointSlice[] = [];
    for (let k = 0; k < endpoints.length; k += chunk) slices.push(slice(endpoints.slice(k, k + chunk)));
    return slices;
  }
}
