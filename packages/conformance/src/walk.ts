/**
 * A seeded random walk over a cluster: each step makes one change of the kind a real cluster
 * sees (services and endpoints come and go, readiness flips, ports, affinity and node ports are
 * added and removed). Every cluster on the walk is valid. Used by the incremental-sync property
 * test: after each step, an incremental sync must leave the kernel exactly as a full apply.
 */
import { generateCluster, ipv4FromInt, mulberry32, type Cluster, type Endpoint, type EndpointSlice, type Service } from '@kpb/model';

export type ChangeKind =
  | 'add-service'
  | 'remove-service'
  | 'add-endpoint'
  | 'remove-endpoint'
  | 'flip-readiness'
  | 'toggle-affinity'
  | 'toggle-node-port'
  | 'add-port'
  | 'remove-port';

export const CHANGE_KINDS: readonly ChangeKind[] = [
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

export function randomWalk(services: number, seed: number): Walk {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let cluster = generateCluster({ services, endpointsPerService: 3, seed });
  let serial = 0;
  // Fresh addresses and node ports outside what the generator hands out.
  let nextClusterIP = 0;
  let nextPodIP = 0;
  const usedNodePorts = new Set(cluster.services.flatMap((s) => s.ports.flatMap((p) => (p.nodePort ? [`${p.protocol}/${p.nodePort}`] : []))));
  const freeNodePort = (): number => {
    for (let p = 32767; p >= 30000; p--) if (!usedNodePorts.has(`TCP/${p}`) && !usedNodePorts.has(`UDP/${p}`) && !usedNodePorts.has(`SCTP/${p}`)) return p;
    throw new Error('random walk: node ports exhausted');
  };
  const newPodIP = () => ipv4FromInt(0x0ac80000 + 10 + nextPodIP++); // 10.200.0.10 …
  const nodeName = () => pick(cluster.nodes).name;
  const endpoint = (): Endpoint => ({ addresses: [newPodIP()], conditions: { ready: true, serving: true, terminating: false }, nodeName: nodeName() });

  const setService = (next: Service) => {
    cluster = { ...cluster, services: cluster.services.map((s) => (id(s) === id(next) ? next : s)) };
  };
  const setSlice = (next: EndpointSlice) => {
    cluster = { ...cluster, endpointSlices: cluster.endpointSlices.map((s) => (id(s) === id(next) ? next : s)) };
  };
  const slicesOf = (svc: Service) => cluster.endpointSlices.filter((s) => s.namespace === svc.namespace && s.serviceName === svc.name);
  const withNodePorts = (svc: Service, on: boolean): Service => {
    for (const p of svc.ports) if (p.nodePort) usedNodePorts.delete(`${p.protocol}/${p.nodePort}`);
    const ports = svc.ports.map(({ nodePort: _drop, ...p }) => {
      if (!on) return p;
      const nodePort = freeNodePort();
      usedNodePorts.add(`${p.protocol}/${nodePort}`);
      return { ...p, nodePort };
    });
    const { healthCheckNodePort: _hc, ...rest } = svc;
    return { ...rest, type: on ? 'NodePort' : 'ClusterIP', ports, externalTrafficPolicy: 'Cluster', loadBalancerIPs: [], loadBalancerSourceRanges: [] };
  };
  /** Services the walk can change freely: plain ClusterIP or NodePort ones with ports. */
  const candidates = () => cluster.services.filter((s) => (s.type === 'ClusterIP' || s.type === 'NodePort') && !s.headless && s.ports.length > 0);

  function change(kind: ChangeKind): string | undefined {
    switch (kind) {
      case 'add-service': {
        const name = `walk-${serial++}`;
        const ns = pick(cluster.services).namespace;
        const svc: Service = {
          namespace: ns,
          name,
          type: 'ClusterIP',
          clusterIPs: [ipv4FromInt(0x0a6f0000 + 10 + nextClusterIP++)], // 10.111.0.10 …
          headless: false,
          ports: [{ name: 'http', protocol: rand() < 0.8 ? 'TCP' : 'UDP', port: 80, targetPort: 8080 }],
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
          endpoints: Array.from({ length: 1 + Math.floor(rand() * 3) }, endpoint),
        };
        cluster = { ...cluster, services: [...cluster.services, svc], endpointSlices: [...cluster.endpointSlices, slice] };
        return id(svc);
      }
      case 'remove-service': {
        const svc = pick(cluster.services);
        for (const p of svc.ports) if (p.nodePort) usedNodePorts.delete(`${p.protocol}/${p.nodePort}`);
        cluster = {
          ...cluster,
          services: cluster.services.filter((s) => s !== svc),
          endpointSlices: cluster.endpointSlices.filter((s) => !(s.namespace === svc.namespace && s.serviceName === svc.name)),
        };
        return id(svc);
      }
      case 'add-endpoint':
      case 'remove-endpoint':
      case 'flip-readiness': {
        const slices = cluster.endpointSlices.filter((s) => s.addressType === 'IPv4' && (kind === 'add-endpoint' || s.endpoints.length > 0));
        if (slices.length === 0) return undefined;
        const slice = pick(slices);
        let endpoints = [...slice.endpoints];
        if (kind === 'add-endpoint') endpoints.push(endpoint());
        else {
          const i = Math.floor(rand() * endpoints.length);
          if (kind === 'remove-endpoint') endpoints.splice(i, 1);
          else {
            const ep = endpoints[i]!;
            const ready = !ep.conditions.ready;
            // Going not-ready sometimes means terminating-but-serving (kube-proxy's fallback case).
            const terminating = !ready && rand() < 0.5;
            endpoints[i] = { ...ep, conditions: { ready, serving: ready || terminating, terminating } };
          }
        }
        setSlice({ ...slice, endpoints });
        return `${slice.namespace}/${slice.serviceName}`;
      }
      case 'toggle-affinity': {
        const svc = pick(candidates());
        if (svc.sessionAffinity) {
          const { sessionAffinity: _drop, ...rest } = svc;
          setService(rest);
        } else setService({ ...svc, sessionAffinity: { timeoutSeconds: 60 + Math.floor(rand() * 600) } });
        return id(svc);
      }
      case 'toggle-node-port': {
        const svc = pick(candidates());
        setService(withNodePorts(svc, svc.type === 'ClusterIP'));
        return id(svc);
      }
      case 'add-port': {
        const svc = pick(candidates());
        if (svc.ports.some((p) => p.name === 'walk') || svc.ports.some((p) => p.name === '')) return undefined;
        const port = { name: 'walk', protocol: 'TCP' as const, port: 9000 + Math.floor(rand() * 900), targetPort: 9999 };
        if (svc.ports.some((p) => p.port === port.port)) return undefined;
        const withPort = { ...svc, ports: [...svc.ports, port] };
        setService(svc.type === 'NodePort' ? withNodePorts(withPort, true) : withPort);
        for (const slice of slicesOf(svc)) setSlice({ ...slice, ports: [...slice.ports, { name: 'walk', protocol: 'TCP', port: 9999 }] });
        return id(svc);
      }
      case 'remove-port': {
        const svc = candidates().find((s) => s.ports.some((p) => p.name === 'walk'));
        if (!svc) return undefined;
        const removed = svc.ports.find((p) => p.name === 'walk')!;
        if (removed.nodePort) usedNodePorts.delete(`${removed.protocol}/${removed.nodePort}`);
        setService({ ...svc, ports: svc.ports.filter((p) => p !== removed) });
        for (const slice of slicesOf(svc)) setSlice({ ...slice, ports: slice.ports.filter((p) => p.name !== 'walk') });
        return id(svc);
      }
    }
  }

  return {
    get cluster() {
      return cluster;
    },
    step() {
      // Bounded: a change that does not apply to the picked object is retried with another one.
      for (let attempt = 0; attempt < 50; attempt++) {
        const kind = pick(CHANGE_KINDS);
        const service = change(kind);
        if (service !== undefined) return { kind, service };
      }
      throw new Error('random walk: no applicable change in 50 attempts');
    },
  };
}
