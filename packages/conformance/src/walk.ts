/**
 * A seeded random walk over a cluster: each step makes one change of the kind a real cluster
 * sees (services and endpoints come and go, readiness flips, ports, affinity and node ports are
 * added and removed). Every cluster on the walk is valid. Used by the incremental-sync property
 * test: after each step, an incremental sync must leave the kernel exactly as a full apply.
 */
import { generateCluster, ipv4FromInt, mulberry32, type Cluster, type Endpoint, type EndpointSlice, type IPFamily, type Service } from '@kpb/model';

type ChangeKind =
  | 'add-service'
  | 'remove-service'
  | 'add-endpoint'
  | 'remove-endpoint'
  | 'flip-readiness'
  | 'toggle-affinity'
  | 'toggle-node-port'
  | 'add-port'
  | 'remove-port';

const CHANGE_KINDS: readonly ChangeKind[] = [
  'add-service',
  'remove-service',
  'add-endpoint',
  'remove-endpoint',
  'flip-readiness',
  'toggle-affinity',
  'toggle-node-port',
  'add-port',
  'remove-port',
];

export interface Walk {
  /** Apply one random change; returns its kind and the service it touched. */
  step(): { kind: ChangeKind; service: string };
  readonly cluster: Cluster;
}

const id = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;

/**
 * A walk over a generated cluster of `services`; `dual`: a dual-stack one (the generator's mix),
 * where new services are dual-stack and endpoints change in the slices of both families.
 */
export function randomWalk(services: number, seed: number, families: 'IPv4' | 'dual' = 'IPv4'): Walk {
  return new ClusterWalk(services, seed, families);
}

/** The walk's fresh IPv6 addresses in canonical form (`prefix` ends in `::`): pods under fd00:10:200::/64, ClusterIPs under fd00:10:111::/112. */
function ipv6(prefix: string, n: number): string {
  const hi = Math.floor(n / 65536);
  const lo = (n % 65536).toString(16);
  return hi === 0 ? `${prefix}${lo}` : `${prefix}${hi.toString(16)}:${lo}`;
}

class ClusterWalk implements Walk {
  readonly #rand: () => number;
  #cluster: Cluster;
  #serial = 0;
  // Fresh addresses and node ports outside what the generator hands out.
  #nextClusterIP = 0;
  #nextPodIP = 0;
  readonly #usedNodePorts: Set<string>;
  readonly #dual: boolean;

  constructor(services: number, seed: number, families: 'IPv4' | 'dual') {
    this.#rand = mulberry32(seed);
    this.#dual = families === 'dual';
    this.#cluster = generateCluster({ services, endpointsPerService: 3, seed, families });
    this.#usedNodePorts = new Set(this.#cluster.services.flatMap((s) => s.ports.flatMap((p) => (p.nodePort ? [`${p.protocol}/${p.nodePort}`] : []))));
  }

  get cluster(): Cluster {
    return this.#cluster;
  }

  step(): { kind: ChangeKind; service: string } {
    // Bounded: a change that does not apply to the picked object is retried with another one.
    for (let attempt = 0; attempt < 50; attempt++) {
      const kind = this.#pick(CHANGE_KINDS);
      const service = this.#change(kind);
      if (service !== undefined) return { kind, service };
    }
    throw new Error('random walk: no applicable change in 50 attempts');
  }

  /** Make one change; the id of the service it touched, or undefined when it did not apply. */
  #change(kind: ChangeKind): string | undefined {
    switch (kind) {
      case 'add-service':
        return this.#addService();
      case 'remove-service':
        return this.#removeService();
      case 'add-endpoint':
      case 'remove-endpoint':
      case 'flip-readiness':
        return this.#changeEndpoints(kind);
      case 'toggle-affinity':
        return this.#toggleAffinity();
      case 'toggle-node-port': {
        const svc = this.#pick(this.#candidates());
        this.#setService(this.#withNodePorts(svc, svc.type === 'ClusterIP'));
        return id(svc);
      }
      case 'add-port':
        return this.#addPort();
      case 'remove-port':
        return this.#removePort();
    }
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#rand() * xs.length)]!;
  }

  #freeNodePort(): number {
    const used = this.#usedNodePorts;
    for (let p = 32767; p >= 30000; p--) if (!used.has(`TCP/${p}`) && !used.has(`UDP/${p}`) && !used.has(`SCTP/${p}`)) return p;
    throw new Error('random walk: node ports exhausted');
  }

  #endpoint(family: IPFamily = 'IPv4'): Endpoint {
    const n = 10 + this.#nextPodIP++;
    const ip = family === 'IPv6' ? ipv6('fd00:10:200::', n) : ipv4FromInt(0x0ac80000 + n); // 10.200.0.10 …
    return { addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: this.#pick(this.#cluster.nodes).name };
  }

  #setService(next: Service): void {
    this.#cluster = { ...this.#cluster, services: this.#cluster.services.map((s) => (id(s) === id(next) ? next : s)) };
  }

  #setSlice(next: EndpointSlice): void {
    this.#cluster = { ...this.#cluster, endpointSlices: this.#cluster.endpointSlices.map((s) => (id(s) === id(next) ? next : s)) };
  }

  #slicesOf(svc: Service): EndpointSlice[] {
    return this.#cluster.endpointSlices.filter((s) => s.namespace === svc.namespace && s.serviceName === svc.name);
  }

  #withNodePorts(svc: Service, on: boolean): Service {
    for (const p of svc.ports) if (p.nodePort) this.#usedNodePorts.delete(`${p.protocol}/${p.nodePort}`);
    const ports = svc.ports.map(({ nodePort: _drop, ...p }) => {
      if (!on) return p;
      const nodePort = this.#freeNodePort();
      this.#usedNodePorts.add(`${p.protocol}/${nodePort}`);
      return { ...p, nodePort };
    });
    const { healthCheckNodePort: _hc, ...rest } = svc;
    return { ...rest, type: on ? 'NodePort' : 'ClusterIP', ports, externalTrafficPolicy: 'Cluster', loadBalancerIPs: [], loadBalancerSourceRanges: [] };
  }

  /** Services the walk can change freely: plain ClusterIP or NodePort ones with ports. */
  #candidates(): Service[] {
    return this.#cluster.services.filter((s) => (s.type === 'ClusterIP' || s.type === 'NodePort') && !s.headless && s.ports.length > 0);
  }

  #addService(): string {
    const name = `walk-${this.#serial++}`;
    const ns = this.#pick(this.#cluster.services).namespace;
    const n = 10 + this.#nextClusterIP++;
    const svc: Service = {
      namespace: ns,
      name,
      type: 'ClusterIP',
      clusterIPs: [ipv4FromInt(0x0a6f0000 + n), ...(this.#dual ? [ipv6('fd00:10:111::', n)] : [])], // 10.111.0.10 …
      headless: false,
      ports: [{ name: 'http', protocol: this.#rand() < 0.8 ? 'TCP' : 'UDP', port: 80, targetPort: 8080 }],
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
    };
    const slice: EndpointSlice = {
      namespace: ns,
      name: `${name}-w`,
      serviceName: name,
      addressType: 'IPv4',
      ports: [{ name: 'http', protocol: svc.ports[0]!.protocol, port: 8080 }],
      endpoints: Array.from({ length: 1 + Math.floor(this.#rand() * 3) }, () => this.#endpoint()),
    };
    const slices = [slice];
    if (this.#dual) slices.push({ ...slice, name: `${name}-w6`, addressType: 'IPv6', endpoints: slice.endpoints.map(() => this.#endpoint('IPv6')) });
    this.#cluster = { ...this.#cluster, services: [...this.#cluster.services, svc], endpointSlices: [...this.#cluster.endpointSlices, ...slices] };
    return id(svc);
  }

  #removeService(): string {
    const svc = this.#pick(this.#cluster.services);
    for (const p of svc.ports) if (p.nodePort) this.#usedNodePorts.delete(`${p.protocol}/${p.nodePort}`);
    this.#cluster = {
      ...this.#cluster,
      services: this.#cluster.services.filter((s) => s !== svc),
      endpointSlices: this.#cluster.endpointSlices.filter((s) => !(s.namespace === svc.namespace && s.serviceName === svc.name)),
    };
    return id(svc);
  }

  #changeEndpoints(kind: 'add-endpoint' | 'remove-endpoint' | 'flip-readiness'): string | undefined {
    const slices = this.#cluster.endpointSlices.filter((s) => s.addressType !== 'FQDN' && (kind === 'add-endpoint' || s.endpoints.length > 0));
    if (slices.length === 0) return undefined;
    const slice = this.#pick(slices);
    const endpoints = [...slice.endpoints];
    if (kind === 'add-endpoint') endpoints.push(this.#endpoint(slice.addressType === 'IPv6' ? 'IPv6' : 'IPv4'));
    else {
      const i = Math.floor(this.#rand() * endpoints.length);
      if (kind === 'remove-endpoint') endpoints.splice(i, 1);
      else {
        const ep = endpoints[i]!;
        const ready = !ep.conditions.ready;
        // Going not-ready sometimes means terminating-but-serving (kube-proxy's fallback case).
        const terminating = !ready && this.#rand() < 0.5;
        endpoints[i] = { ...ep, conditions: { ready, serving: ready || terminating, terminating } };
      }
    }
    this.#setSlice({ ...slice, endpoints });
    return `${slice.namespace}/${slice.serviceName}`;
  }

  #toggleAffinity(): string {
    const svc = this.#pick(this.#candidates());
    if (svc.sessionAffinity) {
      const { sessionAffinity: _drop, ...rest } = svc;
      this.#setService(rest);
    } else this.#setService({ ...svc, sessionAffinity: { timeoutSeconds: 60 + Math.floor(this.#rand() * 600) } });
    return id(svc);
  }

  #addPort(): string | undefined {
    const svc = this.#pick(this.#candidates());
    if (svc.ports.some((p) => p.name === 'walk') || svc.ports.some((p) => p.name === '')) return undefined;
    const port = { name: 'walk', protocol: 'TCP' as const, port: 9000 + Math.floor(this.#rand() * 900), targetPort: 9999 };
    if (svc.ports.some((p) => p.port === port.port)) return undefined;
    const withPort = { ...svc, ports: [...svc.ports, port] };
    this.#setService(svc.type === 'NodePort' ? this.#withNodePorts(withPort, true) : withPort);
    for (const slice of this.#slicesOf(svc)) this.#setSlice({ ...slice, ports: [...slice.ports, { name: 'walk', protocol: 'TCP', port: 9999 }] });
    return id(svc);
  }

  #removePort(): string | undefined {
    const svc = this.#candidates().find((s) => s.ports.some((p) => p.name === 'walk'));
    if (!svc) return undefined;
    const removed = svc.ports.find((p) => p.name === 'walk')!;
    if (removed.nodePort) this.#usedNodePorts.delete(`${removed.protocol}/${removed.nodePort}`);
    this.#setService({ ...svc, ports: svc.ports.filter((p) => p !== removed) });
    for (const slice of this.#slicesOf(svc)) this.#setSlice({ ...slice, ports: slice.ports.filter((p) => p.name !== 'walk') });
    return id(svc);
  }
}
