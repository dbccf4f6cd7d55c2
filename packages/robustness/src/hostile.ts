/**
 * Hostile and mutated cluster descriptions for fuzzing, as fast-check arbitraries.
 *
 * - `mutatedInput`: a valid generated cluster (as `kubectl get … -o json` prints it) with a few
 *   fields replaced (hostile strings, wrong types, huge numbers), deleted or added, then written
 *   as JSON, as YAML (JSON is YAML: a leading comment sends it through the YAML parser), or
 *   corrupted as text (hostile bytes spliced in, truncation).
 * - `randomInput`: Kubernetes objects built from scratch with edge-case names (1 and 63
 *   characters, digits first, dashes), ports, types and addresses — many valid, some not.
 */
import fc from 'fast-check';
import { generateCluster, toKubernetesList, type Cluster } from '@kpb/model';

/** Strings no rule text should ever carry. */
const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '"',
  "'",
  '\\',
  '"; flush ruleset; "',
  'x"\n-A INPUT -j ACCEPT\n#',
  'a;b',
  'a{b}',
  '}',
  '{',
  '#comment',
  'a b',
  'a\tb',
  'a\nb',
  'a\r\nb',
  'a\u0000b',
  '\u0000',
  '$(reboot)',
  '`id`',
  '*filter\n:INPUT DROP [0:0]\nCOMMIT\n',
  'table ip x { chain y { } }',
  'ns/name:port',
  'KUBE-SVC-AAAAAAAAAAAAAAAA',
  '-j ACCEPT',
  '--comment',
  'é',
  'ünïcödé-name',
  '名前',
  '🙂',
  'a\u202eb',
  'a\u200bb',
  '\u001b[31mred',
  'a'.repeat(63),
  'a'.repeat(64),
  'a'.repeat(254),
  'x'.repeat(10_000),
  '-leading',
  'trailing-',
  'UPPER',
  'a..b',
  '.',
  '..',
  '0',
  '10.96.0.300',
  '10.96.0.1/24',
  '::ffff:10.0.0.1',
  '1e3',
  'None',
  'NaN',
  'null',
  'true',
  '__proto__',
  'constructor',
];

const HOSTILE_NUMBERS: readonly unknown[] = [
  0, -1, 1, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e300, 0.5, -0.0, 3.14, 30000.000001,
];

/** Values of every JSON type, hostile ones first. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { '': '' }, ['"'], { kind: 'Service' }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 60, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
);

type Json = unknown;

/** Every path (keys and indices) to a value in a JSON tree. */
function paths(doc: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(doc)) doc.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (doc !== null && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) paths(v, [...prefix, k], out);
  return out;
}

function parentOf(doc: Json, path: readonly (string | number)[]): { parent: Record<string | number, unknown>; key: string | number } | undefined {
  if (path.length === 0) return undefined;
  let cur = doc as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  return { parent: cur, key: path[path.length - 1]! };
}

type Mutation =
  | { readonly op: 'set'; readonly at: number; readonly value: unknown }
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'add'; readonly at: number; readonly key: string; readonly value: unknown }
  | { readonly op: 'duplicate'; readonly at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: fc.constantFrom('extra', '__proto__', 'constructor', 'kind', 'spec', '"', ''), value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }) },
);

/** Applies mutations to a deep copy; returns the copy and the paths touched (for messages). */
function applyMutations(doc: Json, mutations: readonly Mutation[]): { doc: Json; touched: string[] } {
  const copy = structuredClone(doc);
  const touched: string[] = [];
  for (const m of mutations) {
    const all = paths(copy);
    const path = all[m.at % all.length]!;
    touched.push(`${m.op} ${path.join('.')}`);
    const loc = parentOf(copy, path);
    if (m.op === 'set') {
      if (loc) loc.parent[loc.key] = structuredClone(m.value);
    } else if (m.op === 'delete') {
      if (!loc) continue;
      if (Array.isArray(loc.parent)) loc.parent.splice(Number(loc.key), 1);
      else delete loc.parent[loc.key];
    } else if (m.op === 'add') {
      const target = loc ? loc.parent[loc.key] : copy;
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        Object.defineProperty(target, m.key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
      }
    } else {
      if (loc && Array.isArray(loc.parent)) loc.parent.push(structuredClone(loc.parent[loc.key]));
    }
  }
  return { doc: copy, touched };
}

/** Small generated clusters (every feature of the generator's mix) as kubectl List objects. */
export function baseDocuments(): Json[] {
  const mix = { nodePort: 0.3, loadBalancer: 0.2, sourceRanges: 0.5, multiPort: 0.3, udp: 0.2, targetPortDiffers: 0.5, clientIP: 0.2, externalLocal: 0.2, internalLocal: 0.1, externalIPs: 0.2, noEndpoints: 0.1, notReady: 0.1, terminating: 0.1, splitSlices: 0.2 };
  const clusters: Cluster[] = [1, 2, 3, 4].map((seed) => generateCluster({ services: 6, endpointsPerService: 2, seed, nodes: 2, mix }));
  return clusters.map((c) => JSON.parse(JSON.stringify(toKubernetesList(c))) as Json);
}

type Encoding = 'json' | 'yaml' | 'text';

export interface FuzzInput {
  readonly text: string;
  /** How it was made, for failure messages. */
  readonly how: string;
}

function encode(doc: Json, encoding: Encoding, splice: { at: number; what: string; truncate: boolean }): string {
  const json = JSON.stringify(doc, null, encoding === 'yaml' ? 0 : 1) ?? 'null';
  if (encoding === 'json') return json;
  if (encoding === 'yaml') return `# kpb fuzz\n${json}`;
  const at = splice.at % (json.length + 1);
  return splice.truncate ? json.slice(0, at) : json.slice(0, at) + splice.what + json.slice(at);
}

/** A valid generated cluster with 1–4 mutations, as JSON, YAML or corrupted text. */
export function mutatedInput(bases: readonly Json[]): fc.Arbitrary<FuzzInput> {
  return fc
    .record({
      base: fc.nat({ max: bases.length - 1 }),
      mutations: fc.array(mutation, { minLength: 0, maxLength: 4 }),
      encoding: fc.constantFrom<Encoding>('json', 'json', 'yaml', 'text'),
      splice: fc.record({ at: fc.nat(), what: fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ unit: 'binary', maxLength: 8 })), truncate: fc.boolean() }),
    })
    .map(({ base, mutations, encoding, splice }) => {
      const { doc, touched } = applyMutations(bases[base]!, mutations);
      return { text: encode(doc, encoding, splice), how: `base ${base}, ${encoding}, mutations [${touched.join('; ')}]${encoding === 'text' ? `, splice ${JSON.stringify(splice).slice(0, 120)}` : ''}` };
    });
}

// ---- random objects from scratch ----

const lower = 'abcdefghijklmnopqrstuvwxyz';
const alnum = `${lower}0123456789`;
const label = (max: number) =>
  fc.oneof(
    fc.string({ unit: fc.constantFrom(...`${alnum}-`), minLength: 1, maxLength: max }),
    fc.constantFrom('a', '0', 'a'.repeat(max), `z${'9'.repeat(max - 1)}`, `a${'-'.repeat(Math.max(0, max - 2))}b`, 'x-y', '1-2'),
  );
const dns1035 = fc.oneof(
  label(63).map((s) => (/^[a-z]/.test(s) ? s : `s${s}`.slice(0, 63))),
  fc.constantFrom('a', 'a'.repeat(63), `z${'0-'.repeat(31)}`),
);
const portName = fc.oneof(fc.constantFrom('http', 'a', 'a-b-c-d-e-f-g-h', 'p'.repeat(15), 'x1'), label(15));
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const ipv6 = fc.constantFrom('fd00::1', '2001:db8::abcd', '::1', 'fd00:10:96::a');
const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(1, 65535, 0, 65536));
const nodePort = fc.integer({ min: 30000, max: 32767 });

const servicePortObj = fc.record(
  {
    name: portName,
    protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'tcp', 'ICMP'),
    port,
    targetPort: fc.oneof(port, portName),
    nodePort,
  },
  { requiredKeys: ['port'] },
);

const serviceObj = fc
  .record({
    name: dns1035,
    namespace: label(63),
    type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', 'clusterip'),
    clusterIP: fc.oneof(ipv4, ipv6, fc.constantFrom('None', '')),
    ports: fc.array(servicePortObj, { minLength: 1, maxLength: 3 }),
    externalIPs: fc.array(ipv4, { maxLength: 2 }),
    sessionAffinity: fc.constantFrom('None', 'ClientIP'),
    timeout: fc.oneof(fc.integer({ min: 1, max: 86400 }), fc.constantFrom(0, 86401)),
    etp: fc.constantFrom('Cluster', 'Local'),
    itp: fc.constantFrom('Cluster', 'Local'),
    lbIP: ipv4,
    sourceRanges: fc.array(fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, b]) => `${a}/${b}`), { maxLength: 2 }),
  })
  .map((s) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      type: s.type,
      clusterIP: s.clusterIP,
      ports: s.ports,
      externalIPs: s.externalIPs,
      sessionAffinity: s.sessionAffinity,
      ...(s.sessionAffinity === 'ClientIP' ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: s.timeout } } } : {}),
      ...(s.type === 'NodePort' || s.type === 'LoadBalancer' ? { externalTrafficPolicy: s.etp } : {}),
      internalTrafficPolicy: s.itp,
      ...(s.type === 'ExternalName' ? { externalName: 'example.com' } : {}),
      ...(s.type === 'LoadBalancer' ? { loadBalancerSourceRanges: s.sourceRanges } : {}),
    },
    ...(s.type === 'LoadBalancer' ? { status: { loadBalancer: { ingress: [{ ip: s.lbIP }] } } } : {}),
  }));

const sliceFor = (svc: { metadata: { name: string; namespace: string }; spec: { ports: readonly { name?: string; protocol?: string; port: unknown }[] } }) =>
  fc
    .record({
      suffix: label(5),
      addressType: fc.constantFrom('IPv4', 'IPv4', 'IPv6', 'FQDN'),
      endpoints: fc.array(
        fc.record({ ip: ipv4, ready: fc.boolean(), serving: fc.boolean(), terminating: fc.boolean(), node: fc.constantFrom('node-0', 'node-1', 'n'.repeat(253)) }),
        { maxLength: 4 },
      ),
      targetPort: port,
    })
    .map((e) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${svc.metadata.name}-${e.suffix}`.slice(0, 253), namespace: svc.metadata.namespace, labels: { 'kubernetes.io/service-name': svc.metadata.name } },
      addressType: e.addressType,
      ports: svc.spec.ports.map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: e.targetPort })),
      endpoints: e.endpoints.map((x) => ({ addresses: [x.ip], conditions: { ready: x.ready, serving: x.serving, terminating: x.terminating }, nodeName: x.node })),
    }));

/** 1–4 services from scratch, each with an EndpointSlice, plus a Node; as a List. */
export const randomInput: fc.Arbitrary<FuzzInput> = fc
  .array(serviceObj, { minLength: 1, maxLength: 4 })
  .chain((svcs) => fc.tuple(fc.constant(svcs), fc.tuple(...svcs.map((s) => sliceFor(s)))))
  .map(([svcs, slices]) => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.0.10' }] } };
    const doc = { apiVersion: 'v1', kind: 'List', items: [...svcs, ...slices, node] };
    return { text: JSON.stringify(doc), how: 'random objects' };
  });
