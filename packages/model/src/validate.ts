/**
 * Turns parsed, untrusted objects into the readonly model, defaulting and validating like
 * the Kubernetes API server. Names are checked against Kubernetes' own rules (DNS-1123 labels
 * and subdomains, DNS-1035 labels, IANA service names), which is what keeps every name that
 * later reaches rule text free of quotes, spaces, newlines and other metacharacters.
 *
 * All problems are collected and thrown together as one {@link ModelValidationError}.
 */
import type {
  Cluster, Endpoint, EndpointConditions, EndpointPort, EndpointSlice, IPFamily, Node, NodeAddress, Protocol,
  Service, ServicePort, ServiceType, TrafficPolicy, Warning,
} from './types.ts';
import { ModelError, ModelValidationError, showValue } from './errors.ts';
import { familyOfValid, isCanonicalIPv4, parseCIDR, parseIP, specialIPReason } from './net.ts';

/** One parsed object and where it was found (`items[3]`, `document 2`), for messages. */
export interface RawObject {
  readonly value: unknown;
  readonly where: string;
  /** A shape problem found while reading (a List whose items is not a list): refused as it is. */
  readonly problem?: { readonly field: string; readonly detail: string };
}

export interface ValidationResult {
  readonly cluster: Cluster;
  readonly warnings: Warning[];
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

// ---- name rules (Kubernetes apimachinery validation) ----

const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z](?:[-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const HAS_LETTER = /[a-z]/;

function isDNS1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}
function isDNS1035Label(s: string): boolean {
  return s.length <= 63 && DNS1035_LABEL.test(s);
}
export function isDNS1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}
/** IANA_SVC_NAME: at most 15 characters, lowercase alphanumerics and '-', at least one letter, no '--'. */
function isIanaSvcName(s: string): boolean {
  return s.length <= 15 && IANA_SVC_NAME.test(s) && HAS_LETTER.test(s) && !s.includes('--');
}

/** IsFullyQualifiedDomainName: a DNS-1123 subdomain with at least two labels; one trailing dot allowed. */
function isFQDN(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.includes('.') && isDNS1123Subdomain(name);
}

const DNS1123_LABEL_RULE = 'is not a DNS-1123 label (at most 63 lowercase letters, digits and \'-\', starting and ending with a letter or digit)';
const DNS1035_LABEL_RULE = 'is not a DNS-1035 label (at most 63 lowercase letters, digits and \'-\', starting with a letter and ending with a letter or digit)';
const DNS1123_SUBDOMAIN_RULE = 'is not a DNS-1123 subdomain (at most 253 characters: dot-separated lowercase labels of letters, digits and \'-\')';
const FQDN_RULE = 'is not a fully qualified domain name (a DNS-1123 subdomain of at least two dot-separated labels)';
const IANA_RULE = 'is not a valid port name (at most 15 lowercase letters, digits and \'-\', with at least one letter and no leading, trailing or double \'-\')';

// ---- plumbing ----

const SAFE_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

function labelPart(v: unknown, fallback: string): string {
  if (v === undefined || v === null || v === '') return fallback;
  return typeof v === 'string' && SAFE_LABEL.test(v) ? v : showValue(v);
}

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Fields of parsed objects are read directly (`spec['type']`): parsed JSON/YAML objects are
// plain, and none of the keys read here exist on `Object.prototype`, so this is safe (and much
// faster than `hasOwn`). Each read is written at its place rather than through a helper, so
// that each site's property cache sees one key instead of all of them.

/**
 * A list of at most `capacity` entries for the model, filled by index and cut with {@link trimList}:
 * the model keeps its lists, and one grown by push from empty keeps room for 17 entries.
 */
function sizedList<T>(capacity: number): T[] {
  return new Array<T>(capacity);
}

/** Cuts a list from {@link sizedList} to the `count` entries filled. */
function trimList<T>(list: T[], count: number): T[] {
  if (count < list.length) list.length = count;
  return list;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'object' : typeof v;
}

class Ctx {
  readonly errors: ModelError[] = [];
  readonly warnings: Warning[] = [];
  constructor(readonly source: string) {}
}

class Obj {
  failed = false;
  private text: string | undefined;

  /** The label (`Kind namespace/name`) is built only when a message needs it. */
  constructor(
    readonly ctx: Ctx,
    private readonly where: string,
    private readonly described = false,
    private readonly kind?: unknown,
    private readonly namespace?: unknown,
    private readonly objName?: unknown,
  ) {}

  get label(): string {
    if (this.text === undefined) {
      if (!this.described) {
        this.text = this.where;
      } else {
        const kindText = labelPart(this.kind, '<no kind>');
        const nameText = labelPart(this.objName, `<${this.where}>`);
        this.text = this.kind === 'Node' ? `${kindText} ${nameText}` : `${kindText} ${labelPart(this.namespace, 'default')}/${nameText}`;
      }
    }
    return this.text;
  }

  err(field: string, detail: string): undefined {
    this.failed = true;
    this.ctx.errors.push(new ModelError({ source: this.ctx.source, object: this.label, field, detail }));
    return undefined;
  }

  warn(field: string, detail: string): void {
    this.ctx.warnings.push({ source: this.ctx.source, message: `${this.label}: ${field ? field + ' ' : ''}${detail}` });
  }

  wrongType(field: string, want: string, v: unknown): undefined {
    return this.err(field, `must be ${want}, got ${typeName(v)} ${showValue(v)}`);
  }

  /** An object; `undefined`/`null` allowed unless required. */
  record(v: unknown, field: string, required: boolean): Rec | undefined {
    if (v === undefined || v === null) return required ? this.err(field, 'is required') : undefined;
    return isRecord(v) ? v : this.wrongType(field, 'an object', v);
  }

  list(v: unknown, field: string, required: boolean): readonly unknown[] | undefined {
    if (v === undefined || v === null) return required ? this.err(field, 'is required') : undefined;
    return Array.isArray(v) ? v : this.wrongType(field, 'a list', v);
  }

  string(v: unknown, field: string, required: boolean): string | undefined {
    if (v === undefined || v === null || (required && v === '')) return required ? this.err(field, 'is required') : undefined;
    return typeof v === 'string' ? v : this.wrongType(field, 'a string', v);
  }

  int(v: unknown, field: string, min: number, max: number, required: boolean): number | undefined {
    if (v === undefined || v === null) return required ? this.err(field, 'is required') : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.wrongType(field, 'an integer', v);
    if (v < min || v > max) return this.err(field, `${v} is out of range ${min}..${max}`);
    return v;
  }

  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? v : this.wrongType(field, 'true or false', v);
  }

  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[], dflt: T | undefined): T | undefined {
    if (v === undefined || v === null || v === '') return dflt ?? this.err(field, 'is required');
    if (typeof v !== 'string') return this.wrongType(field, 'a string', v);
    if ((allowed as readonly string[]).includes(v)) return v as T;
    return this.err(field, `${showValue(v)} is not one of ${allowed.join(', ')}`);
  }

  name(v: string, field: string, check: (s: string) => boolean, rule: string): string | undefined {
    return check(v) ? v : this.err(field, `${showValue(v)} ${rule}`);
  }

  ip(v: unknown, field: string): { family: IPFamily; text: string } | undefined {
    const s = this.string(v, field, true);
    if (s === undefined) return undefined;
    return parseIP(s) ?? this.err(field, `${showValue(s)} is not an IP address`);
  }

  cidr(v: unknown, field: string): string | undefined {
    const s = this.string(v, field, true);
    if (s === undefined) return undefined;
    const r = parseCIDR(s);
    return r.ok ? r.text : this.err(field, `${showValue(s)} ${r.reason}`);
  }

  /** An IP address the API server takes as an endpoint or external IP (ValidateNonSpecialIP), in canonical form. */
  nonSpecialIP(v: unknown, field: string): string | undefined {
    const ip = this.ip(v, field);
    if (!ip) return undefined;
    const reason = specialIPReason(ip.text, ip.family);
    return reason === undefined ? ip.text : this.err(field, `${showValue(ip.text)} ${reason}`);
  }
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const POLICIES: readonly TrafficPolicy[] = ['Cluster', 'Local'];
const AFFINITIES = ['None', 'ClientIP'] as const;
const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;
const IP_FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];
const IP_FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const;
const NODE_ADDRESS_TYPES = ['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS'] as const;

const KINDS: Record<string, string> = { Service: 'v1', EndpointSlice: 'discovery.k8s.io/v1', Node: 'v1' };

const DEFAULT_SESSION_AFFINITY_TIMEOUT = 10800;
const MAX_SESSION_AFFINITY_TIMEOUT = 86400;

// ---- Service ----
//
// The rules below are the API server's for the fields kpb reads: `ValidateService` and the
// functions it calls in pkg/apis/core/validation/validation.go, after the defaults of
// `SetDefaults_Service` (pkg/apis/core/v1/defaults.go) and the create-time steps of the
// service registry (pkg/registry/core/service/storage: normalizeClusterIPs,
// initIPFamilyFields and the node port allocation in alloc.go). Each check names its source.

/** Who holds a node port number: the service, and the service port (-1 for a health check node port). */
interface NodePortUse {
  readonly obj: Obj;
  readonly field: string;
  readonly servicePort: number;
}

/**
 * Records a node port number as used, or reports who holds it. The API server's node port
 * allocator is shared by every protocol and by health check node ports (alloc.go
 * txnAllocNodePorts); only ports of one service with the same `port` may share one node port
 * (initNodePorts: TCP and UDP 53 on one node port).
 */
function claimNodePort(o: Obj, nodePorts: Map<number, NodePortUse>, nodePort: number, servicePort: number, field: string): void {
  const used = nodePorts.get(nodePort);
  if (used === undefined) nodePorts.set(nodePort, { obj: o, field, servicePort });
  else if (used.obj !== o || used.servicePort !== servicePort || servicePort < 0) {
    o.err(field, `${nodePort} is already used by ${used.obj.label} ${used.field}`);
  }
}

function isEmptyValue(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

function validateService(o: Obj, raw: Rec, namespace: string, name: string, nodePorts: Map<number, NodePortUse>): Service | undefined {
  const spec = o.record(raw['spec'], 'spec', true);
  if (!spec) return undefined;
  const type = o.oneOf(spec['type'], 'spec.type', SERVICE_TYPES, 'ClusterIP');
  if (!type) return undefined;

  const { clusterIPs, headless } = serviceClusterIPs(o, spec, type);
  serviceIPFamilies(o, spec, type, clusterIPs, headless);
  const externalName = type === 'ExternalName' ? serviceExternalName(o, spec) : undefined;
  const ports = servicePorts(o, spec, type, headless, nodePorts);
  const externalIPs = serviceExternalIPs(o, spec);
  const loadBalancerSourceRanges = serviceSourceRanges(o, spec, type);
  const loadBalancerIPs = type === 'LoadBalancer' ? ingressIPs(o, raw) : [];
  const sessionAffinity = serviceSessionAffinity(o, spec);
  const externalTrafficPolicy = serviceExternalTrafficPolicy(o, spec, type);
  const internalTrafficPolicy = o.oneOf(spec['internalTrafficPolicy'], 'spec.internalTrafficPolicy', POLICIES, 'Cluster');
  const healthCheckNodePort = serviceHealthCheckNodePort(o, spec, type, externalTrafficPolicy, nodePorts);

  if (o.failed || !externalTrafficPolicy || !internalTrafficPolicy) return undefined;
  const svc: {
    -readonly [K in keyof Service]: Service[K];
  } = {
    namespace, name, type, clusterIPs, headless, ports, externalIPs, loadBalancerIPs, loadBalancerSourceRanges,
    externalTrafficPolicy, internalTrafficPolicy,
  };
  if (sessionAffinity) svc.sessionAffinity = sessionAffinity;
  if (healthCheckNodePort !== undefined) svc.healthCheckNodePort = healthCheckNodePort;
  if (externalName !== undefined) svc.externalName = externalName;
  return svc;
}

/** spec.clusterIP and spec.clusterIPs with their types checked; `list` is undefined unless every entry is a non-empty string. */
function rawClusterIPs(o: Obj, spec: Rec): { cip: string | undefined; list: readonly string[] | undefined; listGiven: boolean } {
  const cip = o.string(spec['clusterIP'], 'spec.clusterIP', false);
  const cipsList = o.list(spec['clusterIPs'], 'spec.clusterIPs', false);
  let list: readonly string[] | undefined;
  if (cipsList && cipsList.length > 0) {
    list = cipsList as readonly string[];
    for (let i = 0; i < cipsList.length; i++) {
      const v = cipsList[i];
      // Only what is not a non-empty string needs the field path (and fails).
      if (typeof v !== 'string' || v === '') {
        o.string(v, `spec.clusterIPs[${i}]`, true);
        list = undefined;
      }
    }
  }
  return { cip, list, listGiven: cipsList !== undefined && cipsList.length > 0 };
}

/**
 * The cluster IPs (one, or one of each family) or "None" (headless). The fields' types are
 * checked for every service type; an ExternalName service may have none.
 */
function serviceClusterIPs(o: Obj, spec: Rec, type: ServiceType): { clusterIPs: string[]; headless: boolean } {
  const { cip, list, listGiven } = rawClusterIPs(o, spec);
  const none = { clusterIPs: [] as string[], headless: false };
  const useClusterIP = cip !== undefined && cip !== '';
  if (type === 'ExternalName') {
    // ValidateService: "may not be set for ExternalName services" (clusterIPs, which
    // normalizeClusterIPs fills from clusterIP).
    if (useClusterIP) o.err('spec.clusterIP', `${showValue(cip)} may not be set for ExternalName services`);
    else if (listGiven) o.err('spec.clusterIPs', 'may not be set for ExternalName services');
    return none;
  }
  const cipRaw = spec['clusterIP'];
  if (!useClusterIP && cipRaw !== undefined && cipRaw !== null && typeof cipRaw !== 'string') return none; // reported by rawClusterIPs
  if (!useClusterIP) {
    // ValidateServiceClusterIPsRelatedFields: clusterIPs "must be empty when `clusterIP` is not
    // specified" (normalizeClusterIPs only fills clusterIPs from clusterIP, not the reverse).
    if (listGiven) o.err('spec.clusterIPs', 'must be empty when spec.clusterIP is not set');
    else o.err('spec.clusterIP', cipRaw === undefined && spec['clusterIPs'] === undefined ? 'is required' : 'is required (must be an IP address or "None")');
    return none;
  }
  // ValidateServiceClusterIPsRelatedFields: clusterIPs[0] must match clusterIP.
  if (list && list[0] !== cip) {
    o.err('spec.clusterIPs[0]', `${showValue(list[0])} must equal spec.clusterIP ${showValue(cip)}`);
    return none;
  }
  if (listGiven && !list) return none;
  const rawIPs = list ?? [cip];
  if (rawIPs[0] === 'None') {
    // "'None' must be the first and only value"; ValidateService: not for NodePort or LoadBalancer.
    if (rawIPs.length > 1) o.err('spec.clusterIPs', `${showValue(rawIPs)} may contain only "None" for a headless service`);
    if (type !== 'ClusterIP') o.err('spec.clusterIP', `"None" (headless) is only allowed for type ClusterIP, not ${type}`);
    return { clusterIPs: [], headless: true };
  }
  // "may only hold up to 2 values"
  if (rawIPs.length > 2) {
    o.err('spec.clusterIPs', `${showValue(rawIPs)} has more than two addresses`);
    return none;
  }
  return { clusterIPs: parsedClusterIPs(o, rawIPs, list === undefined), headless: false };
}

/** Valid IPs (IsValidIP), and two only when of different families ("may specify no more than one IP for each IP family"). */
function parsedClusterIPs(o: Obj, rawIPs: readonly string[], fromClusterIP: boolean): string[] {
  const clusterIPs = sizedList<string>(rawIPs.length);
  let count = 0;
  let sameFamilies = false;
  let firstFamily: IPFamily | undefined;
  for (let i = 0; i < rawIPs.length; i++) {
    const ip = o.ip(rawIPs[i], fromClusterIP ? 'spec.clusterIP' : `spec.clusterIPs[${i}]`);
    if (ip) {
      if (count === 1) sameFamilies = ip.family === firstFamily;
      firstFamily ??= ip.family;
      clusterIPs[count++] = ip.text;
    }
  }
  trimList(clusterIPs, count);
  if (sameFamilies) o.err('spec.clusterIPs', `${showValue(rawIPs)} must hold one IPv4 and one IPv6 address`);
  return clusterIPs;
}

/**
 * spec.ipFamilies and spec.ipFamilyPolicy: read only to be checked (the cluster IPs carry the
 * families). Forbidden for ExternalName (ValidateService); supported values, no duplicates and
 * families that match the cluster IPs (ValidateServiceClusterIPsRelatedFields); a SingleStack
 * policy — which is also what an unset one becomes, except on a headless service without a
 * selector — with two IPs or families is refused (alloc.go initIPFamilyFields).
 */
function serviceIPFamilies(o: Obj, spec: Rec, type: ServiceType, clusterIPs: readonly string[], headless: boolean): void {
  const famRaw = spec['ipFamilies'];
  const policyRaw = spec['ipFamilyPolicy'];
  if (type === 'ExternalName') {
    if (Array.isArray(famRaw) ? famRaw.length > 0 : famRaw !== undefined && famRaw !== null) o.err('spec.ipFamilies', 'may not be set for ExternalName services');
    if (policyRaw !== undefined && policyRaw !== null) o.err('spec.ipFamilyPolicy', 'may not be set for ExternalName services');
    return;
  }
  const policy = o.oneOf(policyRaw, 'spec.ipFamilyPolicy', IP_FAMILY_POLICIES, 'SingleStack');
  const families = o.list(famRaw, 'spec.ipFamilies', false) ?? [];
  for (let i = 0; i < families.length; i++) {
    const f = `spec.ipFamilies[${i}]`;
    const family = o.oneOf(families[i], f, IP_FAMILIES, undefined);
    if (family === undefined) continue;
    if (i === 1 && families[0] === family) o.err(f, `${showValue(family)} is already listed in spec.ipFamilies[0]`);
    else if (i >= 2) o.err(f, `${showValue(family)} is one family too many (at most one of each)`);
    else if (!headless && i < clusterIPs.length && familyOfValid(clusterIPs[i]!) !== family) {
      o.err(`spec.clusterIPs[${i}]`, `${showValue(clusterIPs[i])} is not an ${family} address as spec.ipFamilies[${i}] says`);
    }
  }
  const implicitDual = headless && isEmptyValue(policyRaw) && !hasSelector(spec);
  if (policy === 'SingleStack' && !implicitDual && (clusterIPs.length === 2 || families.length === 2)) {
    const what = clusterIPs.length === 2 ? 'two cluster IPs' : 'two IP families';
    o.err('spec.ipFamilyPolicy', `${isEmptyValue(policyRaw) ? 'unset (SingleStack)' : '"SingleStack"'} must be RequireDualStack or PreferDualStack with ${what}`);
  }
}

function hasSelector(spec: Rec): boolean {
  const sel = spec['selector'];
  if (!isRecord(sel)) return false;
  for (const k in sel) if (Object.hasOwn(sel, k)) return true;
  return false;
}

function serviceExternalName(o: Obj, spec: Rec): string | undefined {
  const en = o.string(spec['externalName'], 'spec.externalName', true);
  if (en === undefined) return undefined;
  const trimmed = en.endsWith('.') ? en.slice(0, -1) : en;
  if (trimmed === '') return o.err('spec.externalName', 'is required');
  return isDNS1123Subdomain(trimmed) ? en : o.err('spec.externalName', `${showValue(en)} ${DNS1123_SUBDOMAIN_RULE}`);
}

/** spec.externalIPs: IP addresses (IsValidIP) that are not special (ValidateNonSpecialIP). */
function serviceExternalIPs(o: Obj, spec: Rec): string[] {
  const arr = o.list(spec['externalIPs'], 'spec.externalIPs', false);
  const out: string[] = [];
  if (!arr) return out;
  for (let i = 0; i < arr.length; i++) {
    const ip = o.nonSpecialIP(arr[i], `spec.externalIPs[${i}]`);
    if (ip) out.push(ip);
  }
  return out;
}

/** spec.loadBalancerSourceRanges: CIDRs, and only on a LoadBalancer service (ValidateService). */
function serviceSourceRanges(o: Obj, spec: Rec, type: ServiceType): string[] {
  const srcRaw = o.list(spec['loadBalancerSourceRanges'], 'spec.loadBalancerSourceRanges', false) ?? [];
  const ranges: string[] = [];
  if (srcRaw.length > 0 && type !== 'LoadBalancer') {
    o.err('spec.loadBalancerSourceRanges', `may only be set when spec.type is LoadBalancer, not ${type}`);
    return ranges;
  }
  for (let i = 0; i < srcRaw.length; i++) {
    // The API server trims these before it validates them (a leftover of the annotation they
    // replaced), and kube-proxy trims them too: " 203.0.113.0/25" is accepted.
    const value = typeof srcRaw[i] === 'string' ? (srcRaw[i] as string).trim() : srcRaw[i];
    const c = o.cidr(value, `spec.loadBalancerSourceRanges[${i}]`);
    if (c) ranges.push(c);
  }
  return ranges;
}

/** Port numbers and names seen so far in one object (only kept when it has more than one port). */
interface SeenPorts {
  /** Key: port * 4 + the protocol's index. */
  readonly port: Map<number, number>;
  readonly name: Map<string, number>;
  /** Key: node port * 4 + the protocol's index. */
  readonly nodePort: Map<number, number>;
}

function servicePorts(o: Obj, spec: Rec, type: ServiceType, headless: boolean, nodePorts: Map<number, NodePortUse>): ServicePort[] {
  const portsRaw = o.list(spec['ports'], 'spec.ports', false) ?? [];
  // ValidateService: ports are required unless the service is headless or ExternalName.
  if (portsRaw.length === 0 && !headless && type !== 'ExternalName' && !o.failed) {
    o.err('spec.ports', 'is required (at least one port)');
  }
  const ports = sizedList<ServicePort>(portsRaw.length);
  let count = 0;
  const seen: SeenPorts | undefined = portsRaw.length > 1 ? { port: new Map(), name: new Map(), nodePort: new Map() } : undefined;
  for (let i = 0; i < portsRaw.length; i++) {
    const port = servicePort(o, portsRaw, i, type, seen, nodePorts);
    if (port) ports[count++] = port;
  }
  return trimList(ports, count);
}

function servicePort(
  o: Obj, portsRaw: readonly unknown[], i: number, type: ServiceType, seen: SeenPorts | undefined, nodePorts: Map<number, NodePortUse>,
): ServicePort | undefined {
  const f = `spec.ports[${i}]`;
  const p = o.record(portsRaw[i], f, true);
  if (!p) return undefined;
  const portName = servicePortName(o, p, f, i, portsRaw.length, seen);
  // validateServicePort: protocol TCP, UDP or SCTP (SetDefaults_Service: TCP); port IsValidPortNum.
  const protocol = o.oneOf(p['protocol'], `${f}.protocol`, PROTOCOLS, 'TCP');
  const port = o.int(p['port'], `${f}.port`, 1, 65535, true);
  const targetPort = serviceTargetPort(o, p['targetPort'], `${f}.targetPort`, port);
  const nodePort = serviceNodePort(o, p['nodePort'], `${f}.nodePort`, type);
  if (protocol === undefined || port === undefined || targetPort === undefined) return undefined;
  if (seen && nodePort !== undefined) {
    // ValidateService: (protocol, nodePort) pairs are unique — on every service type.
    const key = nodePort * 4 + PROTOCOLS.indexOf(protocol);
    const prev = seen.nodePort.get(key);
    if (prev !== undefined) {
      o.err(`${f}.nodePort`, `${nodePort}/${protocol} is already used by spec.ports[${prev}]`);
      return undefined;
    }
    seen.nodePort.set(key, i);
  }
  if (seen) {
    // ValidateService: (port, protocol) pairs are unique.
    const key = port * 4 + PROTOCOLS.indexOf(protocol);
    const prev = seen.port.get(key);
    if (prev !== undefined) {
      o.err(`${f}.port`, `${port}/${protocol} is already used by spec.ports[${prev}]`);
      return undefined;
    }
    seen.port.set(key, i);
  }
  if (nodePort === undefined || type === 'ExternalName') return { name: portName, protocol, port, targetPort };
  claimNodePort(o, nodePorts, nodePort, port, `${f}.nodePort`);
  return { name: portName, protocol, port, targetPort, nodePort };
}

/** validateServicePort: a DNS-1123 label, required when there are several ports, unique among them. */
function servicePortName(o: Obj, p: Rec, f: string, i: number, count: number, seen: SeenPorts | undefined): string {
  const portName = o.string(p['name'], `${f}.name`, false) ?? '';
  if (portName !== '' && !isDNS1123Label(portName)) {
    o.err(`${f}.name`, `${showValue(portName)} ${DNS1123_LABEL_RULE}`);
    return '';
  }
  if (portName === '' && count > 1) {
    o.err(`${f}.name`, 'is required when a service has more than one port');
  } else if (portName !== '' && seen) {
    const prev = seen.name.get(portName);
    if (prev !== undefined) o.err(`${f}.name`, `${showValue(portName)} is already used by spec.ports[${prev}]`);
    else seen.name.set(portName, i);
  }
  return portName;
}

/** targetPort: a number, a port name (ValidatePortNumOrName), or unset, 0 or "" (SetDefaults_Service: the service port). */
function serviceTargetPort(o: Obj, tp: unknown, field: string, port: number | undefined): number | string | undefined {
  if (tp === undefined || tp === null || tp === 0 || tp === '') return port;
  if (typeof tp === 'number') return o.int(tp, field, 1, 65535, true);
  if (typeof tp === 'string') return isIanaSvcName(tp) ? tp : o.err(field, `${showValue(tp)} ${IANA_RULE}`);
  return o.wrongType(field, 'a port number or a port name', tp);
}

/**
 * ValidateService forbids a node port only on a ClusterIP service; an ExternalName one may
 * carry it, but nothing allocates or serves it (alloc.go allocates node ports only for
 * NodePort and LoadBalancer), so servicePort leaves it out of the model.
 */
function serviceNodePort(o: Obj, npRaw: unknown, field: string, type: ServiceType): number | undefined {
  if (npRaw === undefined || npRaw === null || npRaw === 0) return undefined;
  const nodePort = o.int(npRaw, field, 1, 65535, true);
  if (nodePort === undefined) return undefined;
  if (type === 'ClusterIP') return o.err(field, `${nodePort} may not be set when spec.type is ClusterIP`);
  return nodePort;
}

/** status.loadBalancer.ingress[].ip (ValidateLoadBalancerStatus: an IP when set; hostname-only entries are skipped). */
function ingressIPs(o: Obj, raw: Rec): string[] {
  const loadBalancerIPs: string[] = [];
  const status = o.record(raw['status'], 'status', false);
  const lb = status && o.record(status['loadBalancer'], 'status.loadBalancer', false);
  const ingress = (lb && o.list(lb['ingress'], 'status.loadBalancer.ingress', false)) ?? [];
  for (let i = 0; i < ingress.length; i++) {
    const f = `status.loadBalancer.ingress[${i}]`;
    const ing = o.record(ingress[i], f, true);
    if (!ing) continue;
    const ipRaw = ing['ip'];
    if (ipRaw === undefined || ipRaw === null || ipRaw === '') continue; // hostname-only ingress
    const ip = o.ip(ipRaw, `${f}.ip`);
    if (ip) loadBalancerIPs.push(ip.text);
  }
  return loadBalancerIPs;
}

/**
 * sessionAffinity None or ClientIP (SetDefaults_Service: None, and it drops sessionAffinityConfig
 * for None, so that is ignored); ClientIP's timeout 1..86400 (validateClientIPAffinityConfig,
 * defaulted to 10800).
 */
function serviceSessionAffinity(o: Obj, spec: Rec): { timeoutSeconds: number } | undefined {
  const affinity = o.oneOf(spec['sessionAffinity'], 'spec.sessionAffinity', AFFINITIES, 'None');
  if (affinity !== 'ClientIP') return undefined;
  const cfg = o.record(spec['sessionAffinityConfig'], 'spec.sessionAffinityConfig', false);
  const clientIP = cfg && o.record(cfg['clientIP'], 'spec.sessionAffinityConfig.clientIP', false);
  const t = clientIP
    ? o.int(clientIP['timeoutSeconds'], 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 1, MAX_SESSION_AFFINITY_TIMEOUT, false)
    : undefined;
  return { timeoutSeconds: t ?? DEFAULT_SESSION_AFFINITY_TIMEOUT };
}

/**
 * externalTrafficPolicy: Cluster or Local, and only on an externally accessible service —
 * NodePort, LoadBalancer, or ClusterIP with externalIPs (validateServiceExternalTrafficPolicy,
 * apiservice.ExternallyAccessible); SetDefaults_Service makes it Cluster there. Elsewhere the
 * model holds Cluster, which changes nothing.
 */
function serviceExternalTrafficPolicy(o: Obj, spec: Rec, type: ServiceType): TrafficPolicy | undefined {
  const v = spec['externalTrafficPolicy'];
  const ext = spec['externalIPs'];
  const accessible = type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && Array.isArray(ext) && ext.length > 0);
  if (!accessible && !isEmptyValue(v)) {
    return o.err('spec.externalTrafficPolicy', `${showValue(v)} may only be set when spec.type is NodePort or LoadBalancer, or on a ClusterIP service with spec.externalIPs`);
  }
  return o.oneOf(v, 'spec.externalTrafficPolicy', POLICIES, 'Cluster');
}

/** healthCheckNodePort: only for type LoadBalancer with externalTrafficPolicy Local (validateServiceExternalTrafficPolicy, NeedsHealthCheck). */
function serviceHealthCheckNodePort(
  o: Obj, spec: Rec, type: ServiceType, externalTrafficPolicy: TrafficPolicy | undefined, nodePorts: Map<number, NodePortUse>,
): number | undefined {
  const hcRaw = spec['healthCheckNodePort'];
  if (hcRaw === undefined || hcRaw === null || hcRaw === 0) return undefined;
  const healthCheckNodePort = o.int(hcRaw, 'spec.healthCheckNodePort', 1, 65535, true);
  if (healthCheckNodePort === undefined) return undefined;
  if (type !== 'LoadBalancer' || externalTrafficPolicy !== 'Local') {
    o.err('spec.healthCheckNodePort', `${healthCheckNodePort} may only be set when spec.type is LoadBalancer and spec.externalTrafficPolicy is Local`);
  } else {
    claimNodePort(o, nodePorts, healthCheckNodePort, -1, 'spec.healthCheckNodePort');
  }
  return healthCheckNodePort;
}

// ---- EndpointSlice ----
//
// The API server's rules are `ValidateEndpointSlice` and the functions it calls in
// pkg/apis/discovery/validation/validation.go (validateAddressType, validateEndpoints,
// validatePorts), after SetDefaults_EndpointPort (protocol TCP, name "").

const SERVICE_NAME_FIELD = `metadata.labels[${JSON.stringify(SERVICE_NAME_LABEL)}]`;
const MAX_ENDPOINTS_PER_SLICE = 1000;
const MAX_ADDRESSES_PER_ENDPOINT = 100;
const MAX_PORTS_PER_SLICE = 100;

function validateEndpointSlice(o: Obj, raw: Rec, namespace: string, name: string, meta: Rec): EndpointSlice | undefined {
  const labels = o.record(meta['labels'], 'metadata.labels', false);
  const svcRaw = labels ? labels[SERVICE_NAME_LABEL] : undefined;
  if (svcRaw === undefined || svcRaw === null || svcRaw === '') {
    if (!o.failed) o.warn(SERVICE_NAME_FIELD, 'is missing, skipped');
    return undefined;
  }
  const svcStr = o.string(svcRaw, SERVICE_NAME_FIELD, true);
  const serviceName = svcStr !== undefined ? o.name(svcStr, SERVICE_NAME_FIELD, isDNS1035Label, DNS1035_LABEL_RULE) : undefined;

  const addressType = o.oneOf(raw['addressType'], 'addressType', ADDRESS_TYPES, undefined);
  const ports = slicePorts(o, raw);
  const epsRaw = o.list(raw['endpoints'], 'endpoints', false) ?? [];
  // validateEndpoints: at most 1000 endpoints, each with 1..100 addresses of the slice's type.
  if (epsRaw.length > MAX_ENDPOINTS_PER_SLICE) o.err('endpoints', `has ${epsRaw.length} entries, more than ${MAX_ENDPOINTS_PER_SLICE}`);
  const endpoints = sizedList<Endpoint>(Math.min(epsRaw.length, MAX_ENDPOINTS_PER_SLICE));
  let count = 0;
  for (let i = 0; i < epsRaw.length && i < MAX_ENDPOINTS_PER_SLICE; i++) {
    const endpoint = (addressType === 'IPv4' ? fastEndpoint(epsRaw[i]) : undefined) ?? sliceEndpoint(o, epsRaw[i], `endpoints[${i}]`, addressType);
    if (endpoint) endpoints[count++] = endpoint;
  }
  trimList(endpoints, count);

  if (o.failed || serviceName === undefined || addressType === undefined) return undefined;
  return { namespace, name, serviceName, addressType, ports, endpoints };
}

function slicePorts(o: Obj, raw: Rec): EndpointPort[] {
  const portsRaw = o.list(raw['ports'], 'ports', false) ?? [];
  // validatePorts: at most 100 ports; names DNS-1123 labels, unique ("" included); protocol TCP, UDP or SCTP.
  if (portsRaw.length > MAX_PORTS_PER_SLICE) {
    o.err('ports', `has ${portsRaw.length} entries, more than ${MAX_PORTS_PER_SLICE}`);
    return [];
  }
  const ports = sizedList<EndpointPort>(portsRaw.length);
  let count = 0;
  const seenName = portsRaw.length > 1 ? new Map<string, number>() : undefined;
  for (let i = 0; i < portsRaw.length; i++) {
    const f = `ports[${i}]`;
    const p = o.record(portsRaw[i], f, true);
    if (!p) continue;
    const pname = o.string(p['name'], `${f}.name`, false) ?? '';
    if (pname !== '' && !isDNS1123Label(pname)) {
      o.err(`${f}.name`, `${showValue(pname)} ${DNS1123_LABEL_RULE}`);
      continue;
    }
    const prev = seenName?.get(pname);
    if (prev !== undefined) {
      o.err(`${f}.name`, `${showValue(pname)} is already used by ports[${prev}]`);
      continue;
    }
    seenName?.set(pname, i);
    const protocol = o.oneOf(p['protocol'], `${f}.protocol`, PROTOCOLS, 'TCP');
    const portRaw = p['port'];
    if (portRaw === undefined || portRaw === null) {
      o.warn(`${f}.port`, 'is not set (all ports), ignored');
      continue;
    }
    const port = o.int(portRaw, `${f}.port`, 1, 65535, true);
    if (protocol !== undefined && port !== undefined) ports[count++] = { name: pname, protocol, port };
  }
  return trimList(ports, count);
}

/** One endpoint through the full, error-reporting path. */
function sliceEndpoint(o: Obj, raw: unknown, f: string, addressType: EndpointSlice['addressType'] | undefined): Endpoint | undefined {
  const e = o.record(raw, f, true);
  if (!e) return undefined;
  const addrsRaw = o.list(e['addresses'], `${f}.addresses`, true);
  const addresses: string[] = [];
  if (addrsRaw) {
    if (addrsRaw.length === 0) o.err(`${f}.addresses`, 'must hold at least one address');
    if (addrsRaw.length > MAX_ADDRESSES_PER_ENDPOINT) o.err(`${f}.addresses`, `has more than ${MAX_ADDRESSES_PER_ENDPOINT} addresses`);
    for (let j = 0; j < addrsRaw.length && j < MAX_ADDRESSES_PER_ENDPOINT; j++) {
      const address = endpointAddress(o, addrsRaw[j], `${f}.addresses[${j}]`, addressType);
      if (address !== undefined) addresses.push(address);
    }
  }
  const cond = o.record(e['conditions'], `${f}.conditions`, false);
  const ready = (cond && o.bool(cond['ready'], `${f}.conditions.ready`)) ?? true;
  const serving = (cond && o.bool(cond['serving'], `${f}.conditions.serving`)) ?? ready;
  const terminating = (cond && o.bool(cond['terminating'], `${f}.conditions.terminating`)) ?? false;
  const conditions: EndpointConditions = { ready, serving, terminating };
  const nn = o.string(e['nodeName'], `${f}.nodeName`, false);
  const nodeName = nn === undefined || nn === '' ? undefined : o.name(nn, `${f}.nodeName`, isDNS1123Subdomain, DNS1123_SUBDOMAIN_RULE);
  return nodeName === undefined ? { addresses, conditions } : { addresses, conditions, nodeName };
}

/**
 * An address of the slice's addressType (validateEndpoints): a fully qualified domain name
 * (IsFullyQualifiedDomainName: a DNS-1123 subdomain of at least two labels, a trailing dot
 * allowed), or an IP of that family (IsValidIPv4Address / IsValidIPv6Address) that is not
 * special (ValidateNonSpecialIP).
 */
function endpointAddress(o: Obj, raw: unknown, af: string, addressType: EndpointSlice['addressType'] | undefined): string | undefined {
  if (addressType === 'FQDN') {
    const s = o.string(raw, af, true);
    return s !== undefined ? o.name(s, af, isFQDN, FQDN_RULE) : undefined;
  }
  const ip = o.ip(raw, af);
  if (!ip) return undefined;
  if (addressType !== undefined && ip.family !== addressType) {
    return o.err(af, `${showValue(ip.text)} is an ${ip.family} address but addressType is ${addressType}`);
  }
  const reason = specialIPReason(ip.text, ip.family);
  return reason === undefined ? ip.text : o.err(af, `${showValue(ip.text)} ${reason}`);
}

/**
 * The common case (one canonical IPv4 address, boolean or absent conditions, a plain node
 * name) checked without building any field paths; `undefined` sends the endpoint through
 * the full, error-reporting path.
 */
function fastEndpoint(e: unknown): Endpoint | undefined {
  if (!isRecord(e)) return undefined;
  const addrs = e['addresses'];
  if (!Array.isArray(addrs) || addrs.length !== 1) return undefined;
  const a = addrs[0];
  if (typeof a !== 'string' || !isCanonicalIPv4(a) || specialIPReason(a, 'IPv4') !== undefined) return undefined;
  const c = e['conditions'];
  let ready = true;
  let serving: boolean | undefined;
  let terminating = false;
  if (c !== undefined && c !== null) {
    if (!isRecord(c)) return undefined;
    const r = c['ready'];
    const s = c['serving'];
    const t = c['terminating'];
    if (typeof r === 'boolean') ready = r;
    else if (r !== undefined && r !== null) return undefined;
    if (typeof s === 'boolean') serving = s;
    else if (s !== undefined && s !== null) return undefined;
    if (typeof t === 'boolean') terminating = t;
    else if (t !== undefined && t !== null) return undefined;
  }
  const conditions: EndpointConditions = { ready, serving: serving ?? ready, terminating };
  const nn = e['nodeName'];
  if (nn === undefined || nn === null || nn === '') return { addresses: [a], conditions };
  if (typeof nn !== 'string' || !isDNS1123Subdomain(nn)) return undefined;
  return { addresses: [a], conditions, nodeName: nn };
}

// ---- Node ----

/**
 * ValidateNode checks no status field; ValidateNodeUpdate (how kubelets write status) refuses
 * a repeated (type, address) pair. kpb also requires InternalIP and ExternalIP addresses to be
 * IP addresses and the others DNS names: they may reach rule text.
 */
function validateNode(o: Obj, raw: Rec, name: string): Node | undefined {
  const status = o.record(raw['status'], 'status', false);
  const addrsRaw = (status && o.list(status['addresses'], 'status.addresses', false)) ?? [];
  const addresses: NodeAddress[] = [];
  const seen = addrsRaw.length > 1 ? new Map<string, number>() : undefined;
  for (let i = 0; i < addrsRaw.length; i++) {
    const f = `status.addresses[${i}]`;
    const a = o.record(addrsRaw[i], f, true);
    if (!a) continue;
    const type = o.oneOf(a['type'], `${f}.type`, NODE_ADDRESS_TYPES, undefined);
    if (type === 'InternalIP' || type === 'ExternalIP') {
      const ip = o.ip(a['address'], `${f}.address`);
      if (ip) addNodeAddress(o, addresses, seen, { type, address: ip.text }, `${type} ${a['address'] as string}`, i);
    } else if (type !== undefined) {
      const s = o.string(a['address'], `${f}.address`, true);
      if (s !== undefined && o.name(s, `${f}.address`, isDNS1123Subdomain, DNS1123_SUBDOMAIN_RULE) !== undefined) {
        addNodeAddress(o, addresses, seen, { type, address: s }, `${type} ${s}`, i);
      }
    }
  }
  if (o.failed) return undefined;
  return { name, addresses };
}

/** Adds an address unless the same (type, address) as written came before; `key` is the pair as written. */
function addNodeAddress(o: Obj, addresses: NodeAddress[], seen: Map<string, number> | undefined, a: NodeAddress, key: string, i: number): void {
  const prev = seen?.get(key);
  if (prev !== undefined) {
    o.err(`status.addresses[${i}]`, `${a.type} ${showValue(a.address)} is already listed in status.addresses[${prev}]`);
    return;
  }
  seen?.set(key, i);
  addresses.push(a);
}

// ---- driver ----

function byNamespaceName(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Sorts services or slices by namespace, then name (plain code-unit order, as the model requires). */
export function sortByNamespaceName<T extends { readonly namespace: string; readonly name: string }>(items: T[]): T[] {
  return items.sort(byNamespaceName);
}

/**
 * Validates parsed objects (Services, EndpointSlices, Nodes; other kinds are skipped with a
 * warning) into a sorted `Cluster`. Throws {@link ModelValidationError} listing every problem.
 */
export function validateObjects(objects: readonly RawObject[], source = '<input>'): ValidationResult {
  const ctx = new Ctx(source);
  const services: Located<Service>[] = [];
  const slices: Located<EndpointSlice>[] = [];
  const nodes: Located<Node>[] = [];
  const nodePorts = new Map<number, NodePortUse>();

  for (const { value, where, problem } of objects) {
    if (problem !== undefined) {
      new Obj(ctx, where).err(problem.field, problem.detail);
      continue;
    }
    if (!isRecord(value)) {
      // A document or list entry that is not an object (a string, a number, a list in a list).
      new Obj(ctx, where).wrongType('', 'an object', value);
      continue;
    }
    const kindRaw = value['kind'];
    const metaRaw = value['metadata'];
    const meta = isRecord(metaRaw) ? metaRaw : undefined;
    const nameRaw = meta ? meta['name'] : undefined;
    const nsRaw = meta ? meta['namespace'] : undefined;
    const o = new Obj(ctx, where, true, kindRaw, nsRaw, nameRaw);

    const kind = o.string(kindRaw, 'kind', true);
    if (kind === undefined) continue;
    const wantVersion = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
    if (wantVersion === undefined) {
      o.warn('', `kind ${labelPart(kind, '')} is not used, skipped`);
      continue;
    }
    const apiVersion = o.string(value['apiVersion'], 'apiVersion', true);
    if (apiVersion !== undefined && apiVersion !== wantVersion) {
      o.err('apiVersion', `${showValue(apiVersion)} is not supported for kind ${kind} (expected ${showValue(wantVersion)})`);
    }
    const m = o.record(metaRaw, 'metadata', true);
    if (!m) continue;
    const nameStr = o.string(nameRaw, 'metadata.name', true);
    const name = nameStr === undefined ? undefined
      : kind === 'Service' ? o.name(nameStr, 'metadata.name', isDNS1035Label, DNS1035_LABEL_RULE)
      : o.name(nameStr, 'metadata.name', isDNS1123Subdomain, DNS1123_SUBDOMAIN_RULE);
    let namespace = 'default';
    if (kind !== 'Node') {
      const nsStr = o.string(nsRaw, 'metadata.namespace', false);
      if (nsStr !== undefined && nsStr !== '') namespace = o.name(nsStr, 'metadata.namespace', isDNS1123Label, DNS1123_LABEL_RULE) ?? namespace;
    }
    if (name === undefined || o.failed) continue;

    if (kind === 'Service') {
      const v = validateService(o, value, namespace, name, nodePorts);
      if (v) services.push({ v, where, o });
    } else if (kind === 'EndpointSlice') {
      const v = validateEndpointSlice(o, value, namespace, name, m);
      if (v) slices.push({ v, where, o });
    } else {
      const v = validateNode(o, value, name);
      if (v) nodes.push({ v, where, o });
    }
  }

  reportDuplicates(services, slices, nodes);

  if (ctx.errors.length > 0) throw new ModelValidationError(ctx.errors);
  return {
    cluster: { services: services.map((x) => x.v), endpointSlices: slices.map((x) => x.v), nodes: nodes.map((x) => x.v) },
    warnings: ctx.warnings,
  };
}

/** Sorts each list into the cluster's order (stable, so the first occurrence stays first) and reports neighbours with the same name. */
function reportDuplicates(services: Located<Service>[], slices: Located<EndpointSlice>[], nodes: Located<Node>[]): void {
  services.sort(byLocatedNamespaceName);
  slices.sort(byLocatedNamespaceName);
  nodes.sort(byLocatedName);
  reportNeighbours(services, 'Service');
  reportNeighbours(slices, 'EndpointSlice');
  reportNeighbours(nodes, 'Node');
}

function byLocatedNamespaceName(a: Located<{ namespace: string; name: string }>, b: Located<{ namespace: string; name: string }>): number {
  return byNamespaceName(a.v, b.v);
}

function byLocatedName(a: Located<{ name: string }>, b: Located<{ name: string }>): number {
  return a.v.name < b.v.name ? -1 : a.v.name > b.v.name ? 1 : 0;
}

/** Reports each entry of a sorted list that has the same namespace and name as the one before. */
function reportNeighbours(list: readonly Located<{ name: string; namespace?: string }>[], kind: string): void {
  for (let i = 1, first = 0; i < list.length; i++) {
    const a = list[first]!.v;
    const b = list[i]!;
    if (a.name === b.v.name && a.namespace === b.v.namespace) b.o.err('metadata.name', `duplicate ${kind} (first defined at ${list[first]!.where})`);
    else first = i;
  }
}

interface Located<T> {
  readonly v: T;
  readonly where: string;
  readonly o: Obj;
}
