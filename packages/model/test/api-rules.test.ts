/**
 * Every Kubernetes API server rule kpb enforces on the fields it reads, with one input the API
 * server accepts and one it refuses. The sources are kubernetes/kubernetes:
 * pkg/apis/core/validation/validation.go (ValidateService and what it calls, ValidateNonSpecialIP,
 * ValidateNodeUpdate), pkg/apis/core/v1/defaults.go (SetDefaults_Service), pkg/registry/core/
 * service/storage/alloc.go (initIPFamilyFields, initNodePorts: what the registry refuses at
 * create time) and pkg/apis/discovery/validation/validation.go (ValidateEndpointSlice).
 * A refused input must fail with exactly one error, on the field named here.
 */
import { describe, expect, it } from 'vitest';
import { parseCluster } from '../src/index.ts';
import { list, parseError, service, slice } from './helpers.ts';

type Doc = Record<string, unknown>;

interface Rule {
  readonly rule: string;
  /** The upstream function the rule comes from. */
  readonly source: string;
  readonly accepted: readonly Doc[];
  readonly refused: readonly Doc[];
  /** The field the refusal names. */
  readonly field: string;
}

const svc = (spec: Doc): Doc[] => [service('web', spec)];
const lb = (spec: Doc = {}): Doc => ({ type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }], ...spec });
const np = (spec: Doc = {}): Doc => ({ type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }], ...spec });
const sl = (body: Doc): Doc[] => [slice('web-abc', 'web', body)];
const ep = (...addresses: string[]): Doc => ({ endpoints: [{ addresses }] });
const node = (addresses: readonly Doc[]): Doc[] => [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { addresses } }];
const ports = (n: number, name: (i: number) => string): Doc[] => Array.from({ length: n }, (_, i) => ({ name: name(i), port: 1000 + i }));

const SERVICE_RULES: readonly Rule[] = [
  { rule: 'ports are required unless headless or ExternalName', source: 'ValidateService', field: 'spec.ports',
    accepted: svc({ clusterIP: 'None', ports: [] }), refused: svc({ ports: [] }) },
  { rule: 'a port name is required when there are several ports', source: 'validateServicePort', field: 'spec.ports[1].name',
    accepted: svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] }), refused: svc({ ports: [{ name: 'a', port: 80 }, { port: 81 }] }) },
  { rule: 'port names are DNS-1123 labels', source: 'validateServicePort (ValidateDNS1123Label)', field: 'spec.ports[0].name',
    accepted: svc({ ports: [{ name: `8080-${'x'.repeat(58)}`, port: 80 }] }), refused: svc({ ports: [{ name: 'Http', port: 80 }] }) },
  { rule: 'port names are unique', source: 'validateServicePort', field: 'spec.ports[1].name',
    accepted: svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80, protocol: 'UDP' }] }), refused: svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }) },
  { rule: 'port is 1..65535', source: 'validateServicePort (IsValidPortNum)', field: 'spec.ports[0].port',
    accepted: svc({ ports: [{ port: 65535 }] }), refused: svc({ ports: [{ port: 0 }] }) },
  { rule: 'protocol is TCP, UDP or SCTP (default TCP)', source: 'validateServicePort, SetDefaults_Service', field: 'spec.ports[0].protocol',
    accepted: svc({ ports: [{ port: 80, protocol: 'SCTP' }] }), refused: svc({ ports: [{ port: 80, protocol: 'tcp' }] }) },
  { rule: 'targetPort is a port number or an IANA service name (0 and "" mean the port)', source: 'ValidatePortNumOrName, SetDefaults_Service', field: 'spec.ports[0].targetPort',
    accepted: svc({ ports: [{ port: 80, targetPort: 'http-alt' }] }), refused: svc({ ports: [{ port: 80, targetPort: 'http--alt' }] }) },
  { rule: '(port, protocol) pairs are unique', source: 'ValidateService', field: 'spec.ports[1].port',
    accepted: svc({ ports: [{ name: 'a', port: 53 }, { name: 'b', port: 53, protocol: 'UDP' }] }), refused: svc({ ports: [{ name: 'a', port: 53 }, { name: 'b', port: 53 }] }) },
  { rule: 'nodePort is forbidden on a ClusterIP service (an ExternalName one may carry it)', source: 'ValidateService', field: 'spec.ports[0].nodePort',
    accepted: svc({ type: 'ExternalName', clusterIP: undefined, externalName: 'db.example.com', ports: [{ port: 80, nodePort: 30080 }] }),
    refused: svc({ ports: [{ port: 80, nodePort: 30080 }] }) },
  { rule: '(protocol, nodePort) pairs are unique in a service', source: 'ValidateService', field: 'spec.ports[1].nodePort',
    accepted: svc(np({ ports: [{ name: 'a', port: 53, nodePort: 30053 }, { name: 'b', port: 53, protocol: 'UDP', nodePort: 30053 }] })),
    refused: svc(np({ ports: [{ name: 'a', port: 53, nodePort: 30053 }, { name: 'b', port: 54, nodePort: 30053 }] })) },
  { rule: 'a node port number belongs to one service (any protocol, health check node ports too)', source: 'alloc.go initNodePorts, allocHealthCheckNodePort', field: 'spec.ports[0].nodePort',
    accepted: [service('a', np()), service('b', np({ clusterIP: '10.96.0.11', ports: [{ port: 80, protocol: 'UDP', nodePort: 30081 }] }))],
    refused: [service('a', np()), service('b', np({ clusterIP: '10.96.0.11', ports: [{ port: 80, protocol: 'UDP', nodePort: 30080 }] }))] },
  { rule: 'type is ClusterIP, NodePort, LoadBalancer or ExternalName', source: 'ValidateService', field: 'spec.type',
    accepted: svc(np()), refused: svc({ type: 'Nodeport' }) },
  { rule: 'clusterIP None (headless) is not for NodePort or LoadBalancer', source: 'ValidateService', field: 'spec.clusterIP',
    accepted: svc({ clusterIP: 'None' }), refused: svc(np({ clusterIP: 'None' })) },
  { rule: 'ExternalName: no clusterIP / clusterIPs', source: 'ValidateService', field: 'spec.clusterIP',
    accepted: svc({ type: 'ExternalName', clusterIP: '', externalName: 'db.example.com' }), refused: svc({ type: 'ExternalName', externalName: 'db.example.com' }) },
  { rule: 'ExternalName: no ipFamilies', source: 'ValidateService', field: 'spec.ipFamilies',
    accepted: svc({ type: 'ExternalName', clusterIP: undefined, externalName: 'db.example.com', ipFamilies: [] }),
    refused: svc({ type: 'ExternalName', clusterIP: undefined, externalName: 'db.example.com', ipFamilies: ['IPv4'] }) },
  { rule: 'ExternalName: no ipFamilyPolicy', source: 'ValidateService', field: 'spec.ipFamilyPolicy',
    accepted: svc({ type: 'ExternalName', clusterIP: undefined, externalName: 'db.example.com' }),
    refused: svc({ type: 'ExternalName', clusterIP: undefined, externalName: 'db.example.com', ipFamilyPolicy: 'SingleStack' }) },
  { rule: 'ExternalName: externalName is a DNS-1123 subdomain, a trailing dot allowed', source: 'ValidateService', field: 'spec.externalName',
    accepted: svc({ type: 'ExternalName', clusterIP: undefined, externalName: 'db.example.com.' }), refused: svc({ type: 'ExternalName', clusterIP: undefined, externalName: 'db_1.example.com' }) },
  { rule: 'clusterIPs[0] equals clusterIP', source: 'ValidateServiceClusterIPsRelatedFields', field: 'spec.clusterIPs[0]',
    accepted: svc({ clusterIPs: ['10.96.0.10'] }), refused: svc({ clusterIPs: ['10.96.0.11'] }) },
  { rule: 'clusterIPs must be empty when clusterIP is not set', source: 'ValidateServiceClusterIPsRelatedFields, normalizeClusterIPs', field: 'spec.clusterIPs',
    accepted: svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'] }), refused: svc({ clusterIP: undefined, clusterIPs: ['10.96.0.10'] }) },
  { rule: 'cluster IPs are IP addresses', source: 'ValidateServiceClusterIPsRelatedFields (IsValidIP)', field: 'spec.clusterIP',
    accepted: svc({ clusterIP: 'fd00::a' }), refused: svc({ clusterIP: '10.96.0.256' }) },
  { rule: '"None" must be the only cluster IP', source: 'ValidateServiceClusterIPsRelatedFields', field: 'spec.clusterIPs',
    accepted: svc({ clusterIP: 'None', clusterIPs: ['None'] }), refused: svc({ clusterIP: 'None', clusterIPs: ['None', '10.96.0.10'] }) },
  { rule: 'at most two cluster IPs', source: 'ValidateServiceClusterIPsRelatedFields', field: 'spec.clusterIPs',
    accepted: svc({ clusterIPs: ['10.96.0.10', 'fd00::a'], ipFamilyPolicy: 'RequireDualStack' }),
    refused: svc({ clusterIPs: ['10.96.0.10', 'fd00::a', '10.96.0.12'], ipFamilyPolicy: 'RequireDualStack' }) },
  { rule: 'two cluster IPs are of different families', source: 'ValidateServiceClusterIPsRelatedFields', field: 'spec.clusterIPs',
    accepted: svc({ clusterIPs: ['10.96.0.10', 'fd00::a'], ipFamilyPolicy: 'PreferDualStack' }), refused: svc({ clusterIPs: ['10.96.0.10', '10.96.0.11'], ipFamilyPolicy: 'PreferDualStack' }) },
  { rule: 'ipFamilies are IPv4 or IPv6', source: 'ValidateServiceClusterIPsRelatedFields', field: 'spec.ipFamilies[0]',
    accepted: svc({ ipFamilies: ['IPv4'] }), refused: svc({ ipFamilies: ['ipv4'] }) },
  { rule: 'ipFamilies has no duplicates', source: 'ValidateServiceClusterIPsRelatedFields', field: 'spec.ipFamilies[1]',
    accepted: svc({ clusterIPs: ['10.96.0.10', 'fd00::a'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }),
    refused: svc({ ipFamilies: ['IPv4', 'IPv4'], ipFamilyPolicy: 'RequireDualStack' }) },
  { rule: 'each cluster IP is of the family ipFamilies gives it', source: 'ValidateServiceClusterIPsRelatedFields', field: 'spec.clusterIPs[0]',
    accepted: svc({ clusterIP: 'fd00::a', ipFamilies: ['IPv6'] }), refused: svc({ ipFamilies: ['IPv6'] }) },
  { rule: 'ipFamilyPolicy is SingleStack, PreferDualStack or RequireDualStack', source: 'ValidateServiceClusterIPsRelatedFields', field: 'spec.ipFamilyPolicy',
    accepted: svc({ ipFamilyPolicy: 'PreferDualStack' }), refused: svc({ ipFamilyPolicy: 'DualStack' }) },
  { rule: 'SingleStack (also an unset policy) with two cluster IPs is refused', source: 'alloc.go initIPFamilyFields', field: 'spec.ipFamilyPolicy',
    accepted: svc({ clusterIPs: ['10.96.0.10', 'fd00::a'], ipFamilyPolicy: 'PreferDualStack' }), refused: svc({ clusterIPs: ['10.96.0.10', 'fd00::a'] }) },
  { rule: 'SingleStack with two ipFamilies is refused (not on a headless service without selector)', source: 'alloc.go initIPFamilyFields', field: 'spec.ipFamilyPolicy',
    accepted: svc({ clusterIP: 'None', ipFamilies: ['IPv4', 'IPv6'] }), refused: svc({ clusterIP: 'None', selector: { app: 'web' }, ipFamilies: ['IPv4', 'IPv6'] }) },
  { rule: 'externalIPs are IP addresses', source: 'ValidateService (IsValidIP)', field: 'spec.externalIPs[0]',
    accepted: svc({ externalIPs: ['203.0.113.9'] }), refused: svc({ externalIPs: ['203.0.113.9/32'] }) },
  { rule: 'externalIPs are not unspecified addresses', source: 'ValidateNonSpecialIP', field: 'spec.externalIPs[0]',
    accepted: svc({ externalIPs: ['0.0.0.1'] }), refused: svc({ externalIPs: ['::'] }) },
  { rule: 'externalIPs are not loopback addresses', source: 'ValidateNonSpecialIP', field: 'spec.externalIPs[0]',
    accepted: svc({ externalIPs: ['126.255.255.255'] }), refused: svc({ externalIPs: ['127.0.0.53'] }) },
  { rule: 'externalIPs are not link-local unicast addresses', source: 'ValidateNonSpecialIP', field: 'spec.externalIPs[0]',
    accepted: svc({ externalIPs: ['fec0::1'] }), refused: svc({ externalIPs: ['169.254.169.254'] }) },
  { rule: 'externalIPs are not link-local multicast addresses', source: 'ValidateNonSpecialIP', field: 'spec.externalIPs[0]',
    accepted: svc({ externalIPs: ['224.0.1.1'] }), refused: svc({ externalIPs: ['ff02::1'] }) },
  { rule: 'loadBalancerSourceRanges only on a LoadBalancer service', source: 'ValidateService', field: 'spec.loadBalancerSourceRanges',
    accepted: svc(lb({ loadBalancerSourceRanges: ['203.0.113.0/24'] })), refused: svc(np({ loadBalancerSourceRanges: ['203.0.113.0/24'] })) },
  { rule: 'loadBalancerSourceRanges are CIDRs (space-padded allowed)', source: 'ValidateService (IsValidCIDR)', field: 'spec.loadBalancerSourceRanges[0]',
    accepted: svc(lb({ loadBalancerSourceRanges: [' 2001:db8::/32 '] })), refused: svc(lb({ loadBalancerSourceRanges: ['203.0.113.0'] })) },
  { rule: 'sessionAffinity is None or ClientIP', source: 'ValidateService', field: 'spec.sessionAffinity',
    accepted: svc({ sessionAffinity: 'ClientIP' }), refused: svc({ sessionAffinity: 'Cookie' }) },
  { rule: 'ClientIP timeout is 1..86400 (sessionAffinityConfig is dropped for None)', source: 'validateClientIPAffinityConfig, SetDefaults_Service', field: 'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
    accepted: svc({ sessionAffinity: 'None', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } }),
    refused: svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }) },
  { rule: 'externalTrafficPolicy only on NodePort, LoadBalancer, or ClusterIP with externalIPs', source: 'validateServiceExternalTrafficPolicy (ExternallyAccessible)', field: 'spec.externalTrafficPolicy',
    accepted: svc({ externalIPs: ['203.0.113.9'], externalTrafficPolicy: 'Local' }), refused: svc({ externalTrafficPolicy: 'Cluster' }) },
  { rule: 'externalTrafficPolicy is Cluster or Local', source: 'validateServiceExternalTrafficPolicy', field: 'spec.externalTrafficPolicy',
    accepted: svc(np({ externalTrafficPolicy: 'Local' })), refused: svc(np({ externalTrafficPolicy: 'local' })) },
  { rule: 'healthCheckNodePort only on LoadBalancer with externalTrafficPolicy Local', source: 'validateServiceExternalTrafficPolicy (NeedsHealthCheck)', field: 'spec.healthCheckNodePort',
    accepted: svc(lb({ externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 })), refused: svc(np({ externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 })) },
  { rule: 'internalTrafficPolicy is Cluster or Local', source: 'validateServiceInternalTrafficFieldsValue', field: 'spec.internalTrafficPolicy',
    accepted: svc({ internalTrafficPolicy: 'Local' }), refused: svc({ internalTrafficPolicy: 'Node' }) },
  { rule: 'load balancer ingress IPs are IP addresses', source: 'ValidateLoadBalancerStatus', field: 'status.loadBalancer.ingress[0].ip',
    accepted: [{ ...service('web', lb()), status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } }],
    refused: [{ ...service('web', lb()), status: { loadBalancer: { ingress: [{ ip: 'lb.example.com' }] } } }] },
];

const SLICE_RULES: readonly Rule[] = [
  { rule: 'addressType is IPv4, IPv6 or FQDN', source: 'validateAddressType', field: 'addressType',
    accepted: sl({ addressType: 'IPv6', ...ep('fd00::5') }), refused: sl({ addressType: 'IP' }) },
  { rule: 'at most 1000 endpoints', source: 'validateEndpoints', field: 'endpoints',
    accepted: sl({ endpoints: Array.from({ length: 1000 }, (_, i) => ({ addresses: [`10.244.${i >> 8}.${(i & 255) + 0}`] })) }),
    refused: sl({ endpoints: Array.from({ length: 1001 }, (_, i) => ({ addresses: [`10.245.${i >> 8}.${i & 255}`] })) }) },
  { rule: 'an endpoint has at least one address', source: 'validateEndpoints', field: 'endpoints[0].addresses',
    accepted: sl(ep('10.244.0.5')), refused: sl(ep()) },
  { rule: 'an endpoint has at most 100 addresses', source: 'validateEndpoints', field: 'endpoints[0].addresses',
    accepted: sl(ep(...Array.from({ length: 100 }, (_, i) => `10.244.1.${i + 1}`))), refused: sl(ep(...Array.from({ length: 101 }, (_, i) => `10.244.1.${i + 1}`))) },
  { rule: 'IPv4 slices hold IPv4 addresses', source: 'validateEndpoints (IsValidIPv4Address)', field: 'endpoints[0].addresses[0]',
    accepted: sl(ep('10.244.0.5')), refused: sl(ep('fd00::5')) },
  { rule: 'IPv6 slices hold IPv6 addresses', source: 'validateEndpoints (IsValidIPv6Address)', field: 'endpoints[0].addresses[0]',
    accepted: sl({ addressType: 'IPv6', ...ep('fd00::5') }), refused: sl({ addressType: 'IPv6', ...ep('10.244.0.5') }) },
  { rule: 'endpoint IPs are not special (unspecified, loopback, link-local, link-local multicast)', source: 'validateEndpoints (ValidateNonSpecialIP)', field: 'endpoints[0].addresses[0]',
    accepted: sl(ep('169.255.0.1')), refused: sl(ep('169.254.1.1')) },
  { rule: 'IPv6 endpoint IPs are not special either', source: 'validateEndpoints (ValidateNonSpecialIP)', field: 'endpoints[0].addresses[0]',
    accepted: sl({ addressType: 'IPv6', ...ep('fe00::1') }), refused: sl({ addressType: 'IPv6', ...ep('fe80::1') }) },
  { rule: 'FQDN addresses are fully qualified domain names', source: 'validateEndpoints (IsFullyQualifiedDomainName)', field: 'endpoints[0].addresses[0]',
    accepted: sl({ addressType: 'FQDN', ...ep('db.example.com.') }), refused: sl({ addressType: 'FQDN', ...ep('db') }) },
  { rule: 'at most 100 ports', source: 'validatePorts', field: 'ports',
    accepted: sl({ ports: ports(100, (i) => `p${i}`) }), refused: sl({ ports: ports(101, (i) => `p${i}`) }) },
  { rule: 'port names are DNS-1123 labels', source: 'validatePorts (ValidateDNS1123Label)', field: 'ports[0].name',
    accepted: sl({ ports: [{ name: '8080', port: 8080 }] }), refused: sl({ ports: [{ name: 'http_alt', port: 8080 }] }) },
  { rule: 'port names are unique ("" included)', source: 'validatePorts', field: 'ports[1].name',
    accepted: sl({ ports: [{ name: '', port: 8080 }, { name: 'b', port: 8081 }] }), refused: sl({ ports: [{ port: 8080 }, { port: 8081 }] }) },
  { rule: 'port protocol is TCP, UDP or SCTP (default TCP)', source: 'validatePorts, SetDefaults_EndpointPort', field: 'ports[0].protocol',
    accepted: sl({ ports: [{ port: 8080 }] }), refused: sl({ ports: [{ port: 8080, protocol: 'ICMP' }] }) },
];

const NODE_RULES: readonly Rule[] = [
  { rule: 'no repeated (type, address) pair', source: 'ValidateNodeUpdate', field: 'status.addresses[1]',
    accepted: node([{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'ExternalIP', address: '192.168.1.10' }]),
    refused: node([{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'InternalIP', address: '192.168.1.10' }]) },
];

describe('the API server rules kpb enforces: one accepted and one refused input each', () => {
  const rules = [...SERVICE_RULES, ...SLICE_RULES, ...NODE_RULES];

  it.each(rules.map((r) => [`${r.rule} (${r.source})`, r] as const))('%s', (_, r) => {
    expect(() => parseCluster(list(...r.accepted), 'c.yaml'), 'accepted example').not.toThrow();
    const e = parseError(list(...r.refused));
    expect(e.errors.map((x) => x.field), e.message).toEqual([r.field]);
    expect(e.message).toMatch(/^c\.yaml: (Service|EndpointSlice|Node) /);
  });
});

describe('malformed document shapes are refused, naming the file, the object and the field', () => {
  it.each([
    ['a List whose items is not a list', '{"apiVersion":"v1","kind":"List","items":{"kind":"Service"}}', 'c.json: document: items must be a list, got object {"kind":"Service"}'],
    ['a ServiceList whose items is a string', 'apiVersion: v1\nkind: ServiceList\nitems: web\n', 'c.json: document: items must be a list, got string "web"'],
    ['a document that is not an object', '---\n42\n---\nkind: Node\napiVersion: v1\nmetadata: {name: n}\n', 'c.json: document 1: must be an object, got number 42'],
    ['a list entry that is not an object', '{"kind":"List","items":["web"]}', 'c.json: items[0]: must be an object, got string "web"'],
    ['an object with no kind', '{"kind":"List","items":[{"apiVersion":"v1","metadata":{"name":"web"}}]}', 'c.json: <no kind> default/web: kind is required'],
  ])('%s', (_, text, message) => {
    const e = parseError(text, 'c.json');
    expect(e.message).toBe(message);
  });

  it('an unknown kind is still only a warning', () => {
    const { warnings } = parseCluster('{"kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}]}', 'c.json');
    expect(warnings.map((w) => w.message)).toEqual(['ConfigMap default/x: kind ConfigMap is not used, skipped']);
  });
});
