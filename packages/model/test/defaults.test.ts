import { describe, expect, it } from 'vitest';
import { parseCluster } from '../src/index.ts';

const yaml = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  sessionAffinity: ClientIP
  ports:
  - port: 80
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
---
apiVersion: v1
kind: Service
metadata: {name: dual, namespace: shop}
spec:
  # The API server wants clusterIP beside clusterIPs, and a dual-stack policy for two of them.
  clusterIP: "fd00:0::0a"
  clusterIPs: ["fd00:0::0a", 10.96.0.11]
  ipFamilyPolicy: PreferDualStack
  type: LoadBalancer
  ports: [{port: 443, protocol: UDP, targetPort: https-pod, nodePort: 31000}]
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.7}, {hostname: lb.example.com}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{port: 80}]
endpoints:
- addresses: [10.244.0.5]
- addresses: [10.244.0.6]
  conditions: {ready: false}
- addresses: [10.244.0.7]
  conditions: {ready: false, serving: true, terminating: true}
`;

describe('Kubernetes defaults', () => {
  const { cluster } = parseCluster(yaml, 'd.yaml');

  it('defaults service fields', () => {
    const web = cluster.services.find((s) => s.name === 'web')!;
    expect(web).toEqual({
      namespace: 'shop', name: 'web', type: 'ClusterIP', clusterIPs: ['10.96.0.10'], headless: false,
      ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80 }],
      externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
      sessionAffinity: { timeoutSeconds: 10800 },
      externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
    });
  });

  it('headless service in the default namespace', () => {
    const h = cluster.services.find((s) => s.name === 'headless')!;
    expect(h.namespace).toBe('default');
    expect(h.headless).toBe(true);
    expect(h.clusterIPs).toEqual([]);
    expect(h.sessionAffinity).toBeUndefined();
  });

  it('clusterIPs are canonical, LB ingress IPs kept, hostnames ignored', () => {
    const d = cluster.services.find((s) => s.name === 'dual')!;
    expect(d.clusterIPs).toEqual(['fd00::a', '10.96.0.11']);
    expect(d.loadBalancerIPs).toEqual(['203.0.113.7']);
    expect(d.ports[0]).toEqual({ name: '', protocol: 'UDP', port: 443, targetPort: 'https-pod', nodePort: 31000 });
  });

  it('endpoint conditions default like Kubernetes', () => {
    const s = cluster.endpointSlices[0]!;
    expect(s.ports).toEqual([{ name: '', protocol: 'TCP', port: 80 }]);
    expect(s.endpoints.map((e) => e.conditions)).toEqual([
      { ready: true, serving: true, terminating: false },
      { ready: false, serving: false, terminating: false },
      { ready: false, serving: true, terminating: true },
    ]);
  });

  it('sorts services by namespace/name', () => {
    expect(cluster.services.map((s) => `${s.namespace}/${s.name}`)).toEqual(['default/headless', 'shop/dual', 'shop/web']);
  });

  it('accepts ExternalName services without ports', () => {
    const { cluster: c } = parseCluster('{"apiVersion":"v1","kind":"Service","metadata":{"name":"ext"},"spec":{"type":"ExternalName","externalName":"db.example.com"}}');
    expect(c.services[0]).toMatchObject({ type: 'ExternalName', clusterIPs: [], headless: false, ports: [], externalName: 'db.example.com' });
  });
});

describe('loadBalancerSourceRanges', () => {
  // kube-proxy's TestOverallIPTablesRules feeds " 203.0.113.0/25": the API server trims the
  // value before validating it, so kpb must accept it too.
  it('are trimmed of surrounding spaces, as the API server does', () => {
    const text = JSON.stringify({
      kind: 'List',
      items: [{
        apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb', namespace: 'shop' },
        spec: { type: 'LoadBalancer', clusterIP: '10.96.0.20', ports: [{ port: 80, nodePort: 30080 }], loadBalancerSourceRanges: [' 203.0.113.0/25', '198.51.100.0/24 '] },
      }],
    });
    const lb = parseCluster(text, 'lb.json').cluster.services[0]!;
    expect(lb.loadBalancerSourceRanges).toEqual(['203.0.113.0/25', '198.51.100.0/24']);
  });
});
