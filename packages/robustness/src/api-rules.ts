/**
 * Seeded inputs around the Kubernetes API server's validation rules, and an oracle that says,
 * from the rules alone, whether the API server would refuse an input. The oracle is written
 * from the upstream sources (kubernetes/kubernetes: pkg/apis/core/validation ValidateService,
 * ValidateServiceClusterIPsRelatedFields, ValidateNonSpecialIP, ValidateNodeUpdate;
 * pkg/apis/core/v1 SetDefaults_Service; pkg/registry/core/service/storage/alloc.go
 * initIPFamilyFields and initNodePorts; pkg/apis/discovery/validation ValidateEndpointSlice),
 * not from kpb's validator, so the fuzz test can hold the two against each other.
 *
 * Names, numbers and addresses come from small pools of canonical values: inside that domain
 * kpb's own stricter checks (canonical IP text, names safe for rule text) never fire, so kpb
 * must refuse exactly what the oracle refuses.
 */
import fc from 'fast-check';
import { ipToBytes } from '@kpb/model/net';

type Doc = Record<string, unknown>;

const V4 = ['10.96.0.10', '10.96.0.11'];
const V6 = ['fd00::a', 'fd00::b'];
const EXTERNAL_IPS = ['203.0.113.9', '2001:db8::9', '127.0.0.1', '0.0.0.0', '169.254.1.1', '224.0.0.5', '224.0.1.5', '::1', '::', 'fe80::1', 'ff02::2', 'ff05::2'];
const ENDPOINT_ADDRESSES = ['10.244.0.5', '10.244.0.6', 'fd00:244::5', '127.0.0.2', '169.254.3.3', '0.0.0.0', 'fe80::5', 'ff12::1', 'db.example.com', 'db'];

const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 3 });

const portObj = fc.record({
  name: opt(fc.constantFrom('', 'a', 'b', 'Bad_name', 'a')),
  protocol: opt(fc.constantFrom('TCP', 'UDP', 'tcp')),
  port: fc.constantFrom(53, 80, 80, 0),
  targetPort: opt(fc.constantFrom<number | string>(8080, 'http', 'bad--name', 0, '')),
  nodePort: opt(fc.constantFrom(30080, 30081, 30080, 0)),
}, { requiredKeys: ['port'] });

const clusterIPsArb = fc.constantFrom<string | string[] | undefined>(undefined, [], 'same', 'dual', 'same-family', 'none-and-ip', 'three', 'other');

const serviceSpec = fc.record({
  type: opt(fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', 'Nodeport')),
  clusterIP: opt(fc.constantFrom('', 'None', V4[0]!, V6[0]!)),
  clusterIPs: clusterIPsArb,
  ipFamilies: opt(fc.constantFrom<string[]>([], ['IPv4'], ['IPv6'], ['IPv4', 'IPv6'], ['IPv6', 'IPv4'], ['IPv4', 'IPv4'], ['ipv4'])),
  ipFamilyPolicy: opt(fc.constantFrom('SingleStack', 'PreferDualStack', 'RequireDualStack', 'DualStack')),
  selector: opt(fc.constant({ app: 'web' })),
  ports: fc.array(portObj, { maxLength: 3 }),
  externalIPs: opt(fc.array(fc.constantFrom(...EXTERNAL_IPS), { maxLength: 2 })),
  sourceRanges: opt(fc.constantFrom<string[]>([], ['203.0.113.0/24'], [' 10.0.0.0/8 '], ['2001:db8::/32'], ['203.0.113.0'])),
  sessionAffinity: opt(fc.constantFrom('None', 'ClientIP', 'Cookie')),
  timeout: opt(fc.constantFrom(1, 86400, 0, 86401)),
  etp: opt(fc.constantFrom('Cluster', 'Local', 'local')),
  itp: opt(fc.constantFrom('Cluster', 'Local', 'Node')),
  hc: opt(fc.constantFrom(32000, 30080)),
  externalName: opt(fc.constantFrom('db.example.com', 'db.example.com.', 'bad_name.example.com', '.')),
});

/** A drawn service spec; `clusterIPs` may name a shape ('same', 'dual', …) resolved against clusterIP. */
interface SpecDraw {
  type?: string | undefined;
  clusterIP?: string | undefined;
  clusterIPs?: string | string[] | undefined;
  ipFamilies?: string[] | undefined;
  ipFamilyPolicy?: string | undefined;
  selector?: Doc | undefined;
  ports: Doc[];
  externalIPs?: string[] | undefined;
  sourceRanges?: string[] | undefined;
  sessionAffinity?: string | undefined;
  timeout?: number | undefined;
  etp?: string | undefined;
  itp?: string | undefined;
  hc?: number | undefined;
  externalName?: string | undefined;
}
type SpecKey = keyof SpecDraw;
const SPEC_KEYS: readonly SpecKey[] = [
  'type', 'clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'selector', 'ports', 'externalIPs', 'sourceRanges',
  'sessionAffinity', 'timeout', 'etp', 'itp', 'hc', 'externalName',
];

/** A service the API server takes, of the drawn type; `n` keeps two services' IPs and node ports apart. */
function baseline(type: string, n: number): SpecDraw {
  const d: SpecDraw = { type, clusterIP: V4[n]!, clusterIPs: 'same', ports: [{ name: 'a', port: 80 }] };
  if (type === 'NodePort' || type === 'LoadBalancer') d.ports = [{ name: 'a', port: 80, nodePort: 30080 + n }];
  if (type === 'LoadBalancer') Object.assign(d, { sourceRanges: ['203.0.113.0/24'], etp: 'Local', hc: 32000 + n });
  if (type === 'ExternalName') Object.assign(d, { clusterIP: undefined, clusterIPs: undefined, ports: [], externalName: 'db.example.com' });
  return d;
}

/** A valid service of a random type with up to two fields replaced by values drawn around the rules. */
const serviceDraw = (n: number): fc.Arbitrary<SpecDraw> => fc
  .tuple(fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'), serviceSpec, fc.subarray([...SPEC_KEYS], { maxLength: 2 }), fc.nat({ max: 9 }))
  .map(([type, pool, keys, none]) => {
    const d = baseline(type, n);
    // About a third of the services keep their valid baseline.
    if (none < 3) return d;
    for (const k of keys) (d as unknown as Record<string, unknown>)[k] = pool[k];
    return d;
  });

function clusterIPsOf(d: SpecDraw): string[] | undefined {
  if (typeof d.clusterIPs !== 'string') return d.clusterIPs;
  const first = d.clusterIP || V4[0]!;
  const other = first.includes(':') ? V4[1]! : V6[1]!;
  const sameFamily = first.includes(':') ? V6[1]! : V4[1]!;
  switch (d.clusterIPs) {
    case 'same': return [first];
    case 'dual': return [first, other];
    case 'same-family': return [first, sameFamily];
    case 'none-and-ip': return ['None', V4[1]!];
    case 'three': return [first, other, sameFamily];
    default: return [sameFamily];
  }
}

function serviceDoc(name: string, d: SpecDraw): Doc {
  const spec: Doc = { ports: d.ports };
  const set = (k: string, v: unknown): void => {
    if (v !== undefined) spec[k] = v;
  };
  set('type', d.type);
  set('clusterIP', d.clusterIP);
  set('clusterIPs', clusterIPsOf(d));
  set('ipFamilies', d.ipFamilies);
  set('ipFamilyPolicy', d.ipFamilyPolicy);
  set('selector', d.selector);
  set('externalIPs', d.externalIPs);
  set('loadBalancerSourceRanges', d.sourceRanges);
  set('sessionAffinity', d.sessionAffinity);
  if (d.timeout !== undefined) spec['sessionAffinityConfig'] = { clientIP: { timeoutSeconds: d.timeout } };
  set('externalTrafficPolicy', d.etp);
  set('internalTrafficPolicy', d.itp);
  set('healthCheckNodePort', d.hc);
  set('externalName', d.externalName);
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec };
}

const slicePool = fc.record({
  addressType: opt(fc.constantFrom('IPv4', 'IPv6', 'FQDN', 'IP')),
  endpoints: fc.array(fc.array(fc.constantFrom(...ENDPOINT_ADDRESSES), { maxLength: 2 }), { maxLength: 3 }),
  ports: fc.array(fc.record({ name: opt(fc.constantFrom('', 'a', 'a', 'Bad_name', '8080')), protocol: opt(fc.constantFrom('TCP', 'UDP', 'ICMP')), port: fc.constant(8080) }, { requiredKeys: ['port'] }), { maxLength: 3 }),
});
const SLICE_KEYS = ['addressType', 'endpoints', 'ports'] as const;

const sliceDoc = fc.tuple(slicePool, fc.subarray([...SLICE_KEYS], { maxLength: 2 })).map(([pool, keys]): Doc => {
  const d: Record<string, unknown> = { addressType: 'IPv4', endpoints: [['10.244.0.5']], ports: [{ name: '', port: 8080 }] };
  for (const k of keys) d[k] = pool[k];
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'web-abc', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
    ...(d['addressType'] === undefined ? {} : { addressType: d['addressType'] }),
    endpoints: (d['endpoints'] as string[][]).map((addresses) => ({ addresses })),
    ports: d['ports'],
  };
});

const nodeDoc = fc.oneof(
  { weight: 3, arbitrary: fc.constant([{ type: 'InternalIP', address: '192.168.0.10' }]) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom({ type: 'InternalIP', address: '192.168.0.10' }, { type: 'ExternalIP', address: '192.168.0.10' }, { type: 'Hostname', address: 'node-0' }), { maxLength: 3 }) },
).map((addresses): Doc => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0' }, status: { addresses } }));

/** One or two services, an EndpointSlice and a Node drawn around the API rules, as a kubectl List. */
export const apiRuleInput: fc.Arbitrary<{ readonly text: string; readonly items: readonly Doc[] }> = fc
  .tuple(serviceDraw(0), opt(serviceDraw(1)), sliceDoc, nodeDoc)
  .map(([a, b, slice, node]) => {
    const items = [serviceDoc('web', a), ...(b ? [serviceDoc('api', b)] : []), slice, node];
    return { text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), items };
  });

// ---- the oracle ----

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const isLabel = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
const isSubdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
/** IsValidPortName: IANA_SVC_NAME. */
const isIana = (s: string): boolean => s.length <= 15 && DNS1123_LABEL.test(s) && /[a-z]/.test(s) && !s.includes('--');
const family = (ip: string): 'IPv4' | 'IPv6' | undefined => {
  const b = ipToBytes(ip);
  return b === undefined ? undefined : b.length === 4 ? 'IPv4' : 'IPv6';
};

/** Go's IsUnspecified, IsLoopback, IsLinkLocalUnicast, IsLinkLocalMulticast, on address bytes. */
function isSpecial(ip: string): boolean {
  const b = ipToBytes(ip)!;
  if (b.every((x) => x === 0)) return true;
  if (b.length === 4) return b[0] === 127 || (b[0] === 169 && b[1] === 254) || (b[0] === 224 && b[1] === 0 && b[2] === 0);
  const loopback = b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
  return loopback || (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) || (b[0] === 0xff && (b[1]! & 0x0f) === 0x02);
}

const validCIDR = (s: string): boolean => {
  const [addr, len, ...rest] = s.split('/');
  const f = addr === undefined ? undefined : family(addr);
  return rest.length === 0 && f !== undefined && len !== undefined && /^\d+$/.test(len) && Number(len) <= (f === 'IPv4' ? 32 : 128);
};

type NodePortOwners = Map<number, { svc: string; port: number }>;

/** Why the API server refuses the service (first reason), or undefined. */
function serviceRefusal(doc: Doc, owners: NodePortOwners): string | undefined {
  const spec = doc['spec'] as Doc;
  const svcName = (doc['metadata'] as Doc)['name'] as string;
  const type = (spec['type'] as string | undefined) ?? 'ClusterIP';
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) return 'type';
  const ports = spec['ports'] as Doc[];
  const cip = (spec['clusterIP'] as string | undefined) ?? '';
  let cips = (spec['clusterIPs'] as string[] | undefined) ?? [];
  const fams = (spec['ipFamilies'] as string[] | undefined) ?? [];
  const policy = spec['ipFamilyPolicy'] as string | undefined;
  let headless = false;
  if (type === 'ExternalName') {
    if (cip !== '' || cips.length > 0) return 'ExternalName with cluster IPs';
    if (fams.length > 0 || policy !== undefined) return 'ExternalName with families';
    const cname = ((spec['externalName'] as string | undefined) ?? '').replace(/\.$/, '');
    if (cname === '' || !isSubdomain(cname)) return 'externalName';
  } else {
    // kpb reads allocated objects: a service without a cluster IP is refused (the API server would allocate one).
    if (cip === '') return cips.length > 0 ? 'clusterIPs without clusterIP' : 'kpb: no clusterIP';
    if (cips.length === 0) cips = [cip]; // normalizeClusterIPs
    if (cips[0] !== cip) return 'clusterIPs[0] != clusterIP';
    headless = cips[0] === 'None';
    if (headless && (cips.length > 1 || type !== 'ClusterIP')) return 'None misplaced';
    if (!headless) {
      if (cips.some((ip) => family(ip) === undefined) || cips.length > 2) return 'cluster IPs';
      if (cips.length === 2 && family(cips[0]!) === family(cips[1]!)) return 'not dual-stack';
    }
    if (fams.some((f) => f !== 'IPv4' && f !== 'IPv6') || new Set(fams).size !== fams.length) return 'ipFamilies';
    if (!headless && fams.some((f, i) => i < cips.length && family(cips[i]!) !== f)) return 'family mismatch';
    if (policy !== undefined && !['SingleStack', 'PreferDualStack', 'RequireDualStack'].includes(policy)) return 'ipFamilyPolicy';
    const hasSelector = spec['selector'] !== undefined;
    const effective = policy ?? (headless && !hasSelector ? 'RequireDualStack' : 'SingleStack');
    if (effective === 'SingleStack' && ((!headless && cips.length === 2) || fams.length === 2)) return 'SingleStack with two';
  }
  return portsRefusal(ports, type, headless) ?? restRefusal(spec, type) ?? nodePortRefusal(spec, ports, type, svcName, owners);
}

function portsRefusal(ports: readonly Doc[], type: string, headless: boolean): string | undefined {
  if (ports.length === 0 && !headless && type !== 'ExternalName') return 'no ports';
  const names = new Set<string>();
  const pairs = new Set<string>();
  const nodePairs = new Set<string>();
  for (const p of ports) {
    const name = (p['name'] as string | undefined) ?? '';
    if (ports.length > 1 && name === '') return 'port name required';
    if (name !== '' && (!isLabel(name) || names.has(name))) return 'port name';
    names.add(name);
    const port = p['port'] as number;
    if (port < 1 || port > 65535) return 'port';
    const protocol = (p['protocol'] as string | undefined) || 'TCP';
    if (!['TCP', 'UDP', 'SCTP'].includes(protocol)) return 'protocol';
    const tp = p['targetPort'];
    if (typeof tp === 'number' && tp !== 0 && (tp < 1 || tp > 65535)) return 'targetPort';
    if (typeof tp === 'string' && tp !== '' && !isIana(tp)) return 'targetPort name';
    if (pairs.has(`${port}/${protocol}`)) return 'duplicate port';
    pairs.add(`${port}/${protocol}`);
    const np = (p['nodePort'] as number | undefined) ?? 0;
    if (np !== 0 && type === 'ClusterIP') return 'nodePort on ClusterIP';
    if (np !== 0 && nodePairs.has(`${np}/${protocol}`)) return 'duplicate nodePort';
    if (np !== 0) nodePairs.add(`${np}/${protocol}`);
  }
  return undefined;
}

function restRefusal(spec: Doc, type: string): string | undefined {
  const ext = (spec['externalIPs'] as string[] | undefined) ?? [];
  if (ext.some((ip) => family(ip) === undefined || isSpecial(ip))) return 'externalIPs';
  const ranges = (spec['loadBalancerSourceRanges'] as string[] | undefined) ?? [];
  if (ranges.length > 0 && type !== 'LoadBalancer') return 'sourceRanges on non-LB';
  if (ranges.some((r) => !validCIDR(r.trim()))) return 'sourceRanges';
  const affinity = (spec['sessionAffinity'] as string | undefined) ?? 'None';
  if (affinity !== 'None' && affinity !== 'ClientIP') return 'sessionAffinity';
  const timeout = ((spec['sessionAffinityConfig'] as Doc | undefined)?.['clientIP'] as Doc | undefined)?.['timeoutSeconds'] as number | undefined;
  if (affinity === 'ClientIP' && timeout !== undefined && (timeout < 1 || timeout > 86400)) return 'timeout';
  const accessible = type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && ext.length > 0);
  const etp = spec['externalTrafficPolicy'] as string | undefined;
  if (etp !== undefined && (!accessible || (etp !== 'Cluster' && etp !== 'Local'))) return 'externalTrafficPolicy';
  const itp = spec['internalTrafficPolicy'] as string | undefined;
  if (itp !== undefined && itp !== 'Cluster' && itp !== 'Local') return 'internalTrafficPolicy';
  const hc = spec['healthCheckNodePort'] as number | undefined;
  if (hc !== undefined && !(type === 'LoadBalancer' && etp === 'Local')) return 'healthCheckNodePort';
  return undefined;
}

/** The shared node port allocator (initNodePorts, allocHealthCheckNodePort): ports of one service with the same port may share. */
function nodePortRefusal(spec: Doc, ports: readonly Doc[], type: string, svc: string, owners: NodePortOwners): string | undefined {
  const claims: { np: number; port: number }[] = [];
  if (type === 'NodePort' || type === 'LoadBalancer') {
    for (const p of ports) if (((p['nodePort'] as number | undefined) ?? 0) !== 0) claims.push({ np: p['nodePort'] as number, port: p['port'] as number });
  }
  const hc = spec['healthCheckNodePort'] as number | undefined;
  if (hc !== undefined) claims.push({ np: hc, port: -1 });
  for (const c of claims) {
    const o = owners.get(c.np);
    if (o === undefined) owners.set(c.np, { svc, port: c.port });
    else if (o.svc !== svc || o.port !== c.port || c.port < 0) return 'node port taken';
  }
  return undefined;
}

function sliceRefusal(doc: Doc): string | undefined {
  const type = doc['addressType'] as string | undefined;
  if (type !== 'IPv4' && type !== 'IPv6' && type !== 'FQDN') return 'addressType';
  for (const e of doc['endpoints'] as Doc[]) {
    const addresses = e['addresses'] as string[];
    if (addresses.length === 0) return 'no addresses';
    for (const a of addresses) {
      if (type === 'FQDN') {
        const n = a.replace(/\.$/, '');
        if (!n.includes('.') || !isSubdomain(n)) return 'FQDN';
      } else if (family(a) !== type || isSpecial(a)) return 'address';
    }
  }
  const names = new Set<string>();
  for (const p of doc['ports'] as Doc[]) {
    const name = (p['name'] as string | undefined) ?? '';
    if ((name !== '' && !isLabel(name)) || names.has(name)) return 'port name';
    names.add(name);
    const protocol = (p['protocol'] as string | undefined) ?? 'TCP';
    if (!['TCP', 'UDP', 'SCTP'].includes(protocol)) return 'port protocol';
  }
  return undefined;
}

function nodeRefusal(doc: Doc): string | undefined {
  const addresses = (doc['status'] as Doc)['addresses'] as Doc[];
  const seen = new Set(addresses.map((a) => `${a['type'] as string} ${a['address'] as string}`));
  return seen.size !== addresses.length ? 'duplicate address' : undefined;
}

/** The API server's reason to refuse one of the items (`Kind name: reason`), or undefined when it takes them all. */
export function apiRefusal(items: readonly Doc[]): string | undefined {
  const owners: NodePortOwners = new Map();
  for (const doc of items) {
    const name = `${doc['kind'] as string} ${(doc['metadata'] as Doc)['name'] as string}`;
    const reason = doc['kind'] === 'Service' ? serviceRefusal(doc, owners) : doc['kind'] === 'EndpointSlice' ? sliceRefusal(doc) : nodeRefusal(doc);
    if (reason !== undefined) return `${name}: ${reason}`;
  }
  return undefined;
}
