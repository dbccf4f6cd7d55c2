/**
 * Strict IP and CIDR parsing with canonical output. IPv4 must be four decimal parts without
 * leading zeros (`010.1.1.1` is rejected, as Kubernetes does); IPv6 must be plain hex groups
 * (no zone, no embedded dotted quad, no IPv4-mapped address) and is printed in RFC 5952 form.
 */
import ipaddr from 'ipaddr.js';
import type { IPFamily } from './types.ts';

// Exactly the canonical dotted-quad strings: each part 0..255 without leading zeros.
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:]{2,39}$/;
const PREFIX = /^(?:0|[1-9]\d{0,2})$/;

/** True for canonical dotted-quad IPv4 text (the fast path of {@link parseIP}). */
export function isCanonicalIPv4(s: string): boolean {
  return IPV4.test(s);
}

export interface ParsedIP {
  readonly family: IPFamily;
  /** Canonical text. */
  readonly text: string;
}

/** Parses an IP address strictly; `undefined` when it is not one. */
export function parseIP(s: string): ParsedIP | undefined {
  if (IPV4.test(s)) return { family: 'IPv4', text: s };
  if (!IPV6_CHARS.test(s) || !ipaddr.IPv6.isValid(s)) return undefined;
  const a = ipaddr.IPv6.parse(s);
  if (a.isIPv4MappedAddress()) return undefined;
  return { family: 'IPv6', text: a.toRFC5952String() };
}

/**
 * Why the API server refuses this address as an endpoint or external IP, or `undefined` if it
 * does not: unspecified, loopback, link-local unicast and link-local multicast addresses
 * (ValidateNonSpecialIP in pkg/apis/core/validation, i.e. Go's net.IP IsUnspecified,
 * IsLoopback, IsLinkLocalUnicast, IsLinkLocalMulticast). `text` must be canonical
 * ({@link parseIP}'s output), which lets these be cheap prefix tests.
 */
export function specialIPReason(text: string, family: IPFamily): string | undefined {
  if (family === 'IPv4') {
    if (text === '0.0.0.0') return 'may not be unspecified (0.0.0.0)';
    if (text.startsWith('127.')) return 'may not be in the loopback range (127.0.0.0/8)';
    if (text.startsWith('169.254.')) return 'may not be in the link-local range (169.254.0.0/16)';
    if (text.startsWith('224.0.0.')) return 'may not be in the link-local multicast range (224.0.0.0/24)';
    return undefined;
  }
  if (text === '::') return 'may not be unspecified (::)';
  if (text === '::1') return 'may not be the loopback address (::1)';
  // The first group of canonical text: four hex digits when the address is in fe80::/10 or ffX2::/16.
  const c = text.charCodeAt(2);
  if (text.length > 4 && text.charCodeAt(4) === 58 /* ':' */ && text.startsWith('fe') && (c === 56 || c === 57 || c === 97 || c === 98)) {
    return 'may not be in the link-local range (fe80::/10)';
  }
  if (text.length > 4 && text.charCodeAt(4) === 58 && text.startsWith('ff') && text.charCodeAt(3) === 50 /* '2' */) {
    return 'may not be in the link-local multicast range (ff02::/16)';
  }
  return undefined;
}

/** Family of a (valid) IP address; `undefined` when `s` is not one. */
export function ipFamily(s: string): IPFamily | undefined {
  return parseIP(s)?.family;
}

export type CIDRResult =
  | { readonly ok: true; readonly family: IPFamily; readonly text: string }
  | { readonly ok: false; readonly reason: string };

/** Parses `addr/len` strictly: canonical text out, host bits must be zero. */
export function parseCIDR(s: string): CIDRResult {
  const slash = s.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'is not a CIDR (missing "/prefix")' };
  const ip = parseIP(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip) return { ok: false, reason: 'is not a CIDR (bad address)' };
  const max = ip.family === 'IPv4' ? 32 : 128;
  if (!PREFIX.test(lenText) || Number(lenText) > max) return { ok: false, reason: `is not a CIDR (prefix length must be 0..${max})` };
  const len = Number(lenText);
  const net = ip.family === 'IPv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${ip.text}/${len}`).toString()
    : ipaddr.IPv6.networkAddressFromCIDR(`${ip.text}/${len}`).toRFC5952String();
  if (net !== ip.text) return { ok: false, reason: `has host bits set (did you mean "${net}/${len}"?)` };
  return { ok: true, family: ip.family, text: `${net}/${len}` };
}

/** IPv4 address as an unsigned 32-bit integer → dotted quad. */
export function ipv4FromInt(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Dotted quad → unsigned 32-bit integer (input must be a valid IPv4 address). */
export function ipv4ToInt(s: string): number {
  const p = s.split('.');
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

/** Network-order bytes of an IP address (4 for IPv4, 16 for IPv6); `undefined` when {@link parseIP} rejects `s`. */
export function ipToBytes(s: string): Uint8Array | undefined {
  const ip = parseIP(s);
  if (!ip) return undefined;
  if (ip.family === 'IPv6') return Uint8Array.from(ipaddr.IPv6.parse(ip.text).toByteArray());
  const n = ipv4ToInt(ip.text);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** Canonical text of network-order address bytes (4 → dotted quad, 16 → RFC 5952). */
export function ipFromBytes(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) return (ipaddr.fromByteArray(Array.from(b)) as ipaddr.IPv6).toRFC5952String();
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${b.length}`);
}

/** An IP address as a number (32 or 128 bits); `undefined` when {@link parseIP} rejects `s`. */
export function ipToBigInt(s: string): bigint | undefined {
  const b = ipToBytes(s);
  if (!b) return undefined;
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** Canonical text of an address number of the family (inverse of {@link ipToBigInt}). */
export function ipFromBigInt(n: bigint, family: IPFamily): string {
  const b = new Uint8Array(family === 'IPv4' ? 4 : 16);
  for (let i = b.length - 1; i >= 0; i--, n >>= 8n) b[i] = Number(n & 0xffn);
  return ipFromBytes(b);
}

/**
 * Family of an address or CIDR that has already been validated ({@link parseIP} / {@link parseCIDR}):
 * IPv6 exactly when it holds a colon. Cheap enough for the compiler's inner loops.
 */
export function familyOfValid(s: string): IPFamily {
  return s.includes(':') ? 'IPv6' : 'IPv4';
}

/**
 * Whether `ip` lies in `cidr` (a CIDR, or a bare address meaning that one address). Both must be
 * valid; an address of the other family is never inside.
 */
export function cidrContains(cidr: string, ip: string): boolean {
  if (IPV4.test(ip)) return ipv4CidrContains(cidr, ip);
  const addr = ipaddr.parse(ip);
  const [range, bits] = cidr.includes('/') ? ipaddr.parseCIDR(cidr) : [ipaddr.parse(cidr), addr.kind() === 'ipv6' ? 128 : 32];
  return addr.kind() === range.kind() && addr.match(range, bits);
}

/** {@link cidrContains} for an IPv4 address, in integers (no parsing library on the compiler's path). */
function ipv4CidrContains(cidr: string, ip: string): boolean {
  const slash = cidr.indexOf('/');
  const base = slash < 0 ? cidr : cidr.slice(0, slash);
  if (!IPV4.test(base)) return false;
  const bits = slash < 0 ? 32 : Number(cidr.slice(slash + 1));
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === ((ipv4ToInt(base) & mask) >>> 0);
}
