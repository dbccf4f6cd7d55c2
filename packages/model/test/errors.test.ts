import { describe, expect, it } from 'vitest';
import { ModelError, ModelValidationError, showValue } from '../src/index.ts';
import { list, parseError, service, slice } from './helpers.ts';

describe('error messages name source, object and field', () => {
  it('bad IP', () => {
    const e = parseError(list(service('web', { clusterIP: '10.96.0.300' })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.clusterIP "10.96.0.300" is not an IP address');
    expect(e).toBeInstanceOf(ModelError);
    expect(e.errors).toHaveLength(1);
    expect(e.source).toBe('c.yaml');
    expect(e.object).toBe('Service shop/web');
    expect(e.field).toBe('spec.clusterIP');
  });

  it('IP with leading zeros', () => {
    const e = parseError(list(service('web', { externalIPs: ['203.0.113.1', '010.1.1.1'] })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.externalIPs[1] "010.1.1.1" is not an IP address');
  });

  it('bad IP in clusterIPs', () => {
    const e = parseError(list(service('web', { clusterIP: 'fd00::zz', clusterIPs: ['fd00::zz'] })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.clusterIPs[0] "fd00::zz" is not an IP address');
  });

  it('bad CIDR and host bits set', () => {
    const e = parseError(list(service('lb', {
      type: 'LoadBalancer',
      ports: [{ port: 80, nodePort: 30080 }],
      loadBalancerSourceRanges: ['10.0.0.1/8', '10.0.0.0/33', 'nonsense'],
    })));
    expect(e.errors.map((x) => x.message)).toEqual([
      'c.yaml: Service shop/lb: spec.loadBalancerSourceRanges[0] "10.0.0.1/8" has host bits set (did you mean "10.0.0.0/8"?)',
      'c.yaml: Service shop/lb: spec.loadBalancerSourceRanges[1] "10.0.0.0/33" is not a CIDR (prefix length must be 0..32)',
      'c.yaml: Service shop/lb: spec.loadBalancerSourceRanges[2] "nonsense" is not a CIDR (missing "/prefix")',
    ]);
  });

  it('port out of range', () => {
    const e = parseError(list(service('web', { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 70000 }] })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.ports[1].port 70000 is out of range 1..65535');
  });

  it('endpoint slice port out of range', () => {
    const e = parseError(list(slice('web-abc', 'web', { ports: [{ port: 0 }] })));
    expect(e.message).toBe('c.yaml: EndpointSlice shop/web-abc: ports[0].port 0 is out of range 1..65535');
  });

  it('nodePort out of range', () => {
    const e = parseError(list(service('web', { type: 'NodePort', ports: [{ port: 80, nodePort: 65536 }] })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.ports[0].nodePort 65536 is out of range 1..65535');
  });

  it('nodePort on a ClusterIP service', () => {
    const e = parseError(list(service('web', { ports: [{ port: 80, nodePort: 30000 }] })));
    expect(e.field).toBe('spec.ports[0].nodePort');
  });

  it('unknown protocol', () => {
    const e = parseError(list(service('web', { ports: [{ port: 80, protocol: 'ICMP' }] })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.ports[0].protocol "ICMP" is not one of TCP, UDP, SCTP');
  });

  it('bad service name with a quote and a newline is shown escaped', () => {
    const e = parseError(list(service('we"b\nx')));
    expect(e.object).toBe('Service shop/"we\\"b\\nx"');
    expect(e.field).toBe('metadata.name');
    expect(e.message).toMatch(/^c\.yaml: Service shop\/"we\\"b\\nx": metadata\.name "we\\"b\\nx" is not a DNS-1035 label/);
    expect(e.message).not.toContain('\n');
  });

  it.each([
    ['has space', 'Service'], ['semi;colon', 'Service'], ['brace{', 'Service'], ['hash#', 'Service'],
    ['nul\u0000', 'Service'], ['caf\u00e9', 'Service'], ['1abc', 'Service'], ['Upper', 'Service'], ['a'.repeat(64), 'Service'],
  ])('rejects service name %j', (name) => {
    const e = parseError(list(service(name)));
    expect(e.field).toBe('metadata.name');
    expect(e.message).not.toMatch(/[^\x20-\x7e\n]/);
  });

  it('bad namespace', () => {
    const e = parseError(list(service('web', {}, 'Shop!')));
    expect(e.message).toMatch(/^c\.yaml: Service "Shop!"\/web: metadata\.namespace "Shop!" is not a DNS-1123 label/);
  });

  it('bad port name (service port names are DNS-1123 labels; target port names IANA service names)', () => {
    const e = parseError(list(service('web', { ports: [{ name: 'My_port', port: 80 }, { name: 'ok', port: 81 }] })));
    expect(e.field).toBe('spec.ports[0].name');
    const e2 = parseError(list(service('web', { ports: [{ name: 'a'.repeat(64), port: 80 }] })));
    expect(e2.field).toBe('spec.ports[0].name');
    const e3 = parseError(list(service('web', { ports: [{ name: 'web', port: 80, targetPort: '8080' }] })));
    expect(e3.field).toBe('spec.ports[0].targetPort');
  });

  it('bad endpoint slice and node names', () => {
    const e = parseError(list(slice('web_abc', 'web'), { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node 1' } }));
    expect(e.errors.map((x) => `${x.object} | ${x.field}`)).toEqual([
      'EndpointSlice shop/web_abc | metadata.name',
      'Node "node 1" | metadata.name',
    ]);
  });

  it('bad nodeName in an endpoint', () => {
    const e = parseError(list(slice('web-abc', 'web', { endpoints: [{ addresses: ['10.0.0.1'], nodeName: 'x;y' }] })));
    expect(e.message).toMatch(/^c\.yaml: EndpointSlice shop\/web-abc: endpoints\[0\]\.nodeName "x;y" is not a DNS-1123 subdomain/);
  });

  it('duplicate service', () => {
    const e = parseError(list(service('web'), service('web', { clusterIP: '10.96.0.11' })));
    expect(e.message).toBe('c.yaml: Service shop/web: metadata.name duplicate Service (first defined at items[0])');
  });

  it('duplicate nodePort across services', () => {
    const e = parseError(list(
      service('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
      service('b', { type: 'NodePort', clusterIP: '10.96.0.11', ports: [{ name: 'x', port: 81, nodePort: 30081 }, { name: 'y', port: 82, nodePort: 30080 }] }),
    ));
    expect(e.message).toBe('c.yaml: Service shop/b: spec.ports[1].nodePort 30080 is already used by Service shop/a spec.ports[0].nodePort');
  });

  it('same nodePort number with different protocols is fine', async () => {
    const { parseCluster } = await import('../src/index.ts');
    const { cluster } = parseCluster(list(service('a', {
      type: 'NodePort',
      ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30053 }],
    })), 'c.yaml');
    expect(cluster.services[0]!.ports.map((p) => p.nodePort)).toEqual([30053, 30053]);
  });

  it('address family mismatch', () => {
    const e = parseError(list(slice('web-abc', 'web', { endpoints: [{ addresses: ['fd00::1'] }] })));
    expect(e.message).toBe('c.yaml: EndpointSlice shop/web-abc: endpoints[0].addresses[0] "fd00::1" is an IPv6 address but addressType is IPv4');
  });

  it('wrong type', () => {
    const e = parseError(list(service('web', { ports: [{ port: '80' }] })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.ports[0].port must be an integer, got string "80"');
    const e2 = parseError(list(slice('web-abc', 'web', { endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: 'yes' } }] })));
    expect(e2.message).toBe('c.yaml: EndpointSlice shop/web-abc: endpoints[0].conditions.ready must be true or false, got string "yes"');
  });

  it('missing field', () => {
    const e = parseError(list(service('web', { ports: [{ protocol: 'TCP' }] })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.ports[0].port is required');
    const noSpec = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' } };
    expect(parseError(list(noSpec)).message).toBe('c.yaml: Service shop/web: spec is required');
    const noName = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop' }, spec: {} };
    expect(parseError(list(noName)).message).toBe('c.yaml: Service shop/<items[0]>: metadata.name is required');
  });

  it('session affinity timeout out of range', () => {
    const e = parseError(list(service('web', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } })));
    expect(e.message).toBe('c.yaml: Service shop/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds 86401 is out of range 1..86400');
  });

  it('collects several errors and caps the message', () => {
    const items = Array.from({ length: 30 }, (_, i) => service(`s${i}`, { clusterIP: 'bad' }));
    const e = parseError(list(...items));
    expect(e.errors).toHaveLength(30);
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe('… and 10 more');
  });

  it('shows hostile values escaped and truncated', () => {
    expect(showValue('a"b\nc')).toBe('"a\\"b\\nc"');
    expect(showValue('\u202e')).toBe('"\\u202e"');
    const long = showValue('x'.repeat(500));
    expect(long.length).toBeLessThan(90);
    expect(long.endsWith('…')).toBe(true);
  });

  it('ModelValidationError is a ModelError', () => {
    const e = parseError(list(service('web', { clusterIP: 'x' })));
    expect(e).toBeInstanceOf(ModelValidationError);
    expect(e).toBeInstanceOf(ModelError);
  });
});
