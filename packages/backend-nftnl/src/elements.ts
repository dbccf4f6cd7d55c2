/**
 * Set and map elements compared as the kernel holds them: each element of a wanted set is written
 * as the hex of the bytes kpb would send (key, and a verdict map's verdict or a data map's value),
 * each listed element as the addon's hex, and the two sides compared as sets of strings. Decoding
 * every listed element into addresses and ports first (the decoded table's elements) was most
 * of a verify of layout maps at 10k services (80k elements). A difference found here is only a
 * hint: the caller then compares the decoded objects' canonical forms, which say what differs.
 */
import type { ElementKey, KeyType, NftDataElement, NftFamily, NftMapElement } from '@kpb/backend-nft';
import type { ListedSet } from '@kpb/native';
import { addrBytes, KEY_BYTES, NFTNL_UDATA_SET_ELEM_COMMENT, PROTO_NUM } from './bytes.ts';
import { udataComment } from './decode.ts';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/** `n` bytes of zeros, as hex. */
const zeros = (n: number): string => '00'.repeat(n);

/** A dotted-quad IPv4 address as hex, read in place (no bytes, no cache lookup); undefined for anything else. */
function ipv4Hex(v: string): string | undefined {
  let out = '';
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= v.length; i++) {
    const c = i < v.length ? v.charCodeAt(i) : 46; /* . */
    if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else if (c === 46 && digits > 0 && octet <= 255 && dots < 4) {
      out += HEX[octet];
      octet = 0;
      digits = 0;
      dots++;
    } else return undefined;
  }
  return dots === 4 ? out : undefined;
}

/** An address of the family as hex. */
const addrHex = (v: string, family: NftFamily): string => (family === 'ip' ? ipv4Hex(v) : undefined) ?? hexOf(addrBytes(v, family));

/** One field of a key, as hex; undefined for a value that is not of the type (it cannot match a listed element). */
function fieldHex(t: KeyType, v: string | number | undefined, family: NftFamily): string | undefined {
  switch (t) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return typeof v === 'string' ? addrHex(v, family) : undefined;
    case 'inet_proto': {
      const n = typeof v === 'string' ? PROTO_NUM[v] : undefined;
      return n === undefined ? undefined : HEX[n];
    }
    case 'inet_service':
      return typeof v === 'number' ? HEX[(v >> 8) & 0xff]! + HEX[v & 0xff]! : undefined;
    case 'integer':
      // the numgen index: little-endian, as the encoder writes it (numgen's register is in host order)
      return typeof v === 'number' ? HEX[v & 0xff]! + HEX[(v >>> 8) & 0xff]! + HEX[(v >>> 16) & 0xff]! + HEX[v >>> 24]! : undefined;
  }
}

/** A key as the kernel lists it: one field as it is, a concatenation with each field padded to 4 bytes. */
export function keyHex(key: ElementKey, types: readonly KeyType[], family: NftFamily): string {
  if (types.length === 1) return fieldHex(types[0]!, key[0], family) ?? '?';
  let s = '';
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    const n = KEY_BYTES[t];
    s += (fieldHex(t, key[i], family) ?? '?') + zeros(((n + 3) & ~3) - n);
  }
  return s;
}

/** A verdict map element's text: key, verdict, chain and comment. */
const verdictText = (key: string, kind: unknown, chain: string | undefined, comment: string | undefined): string =>
  `${key} ${String(kind)} ${chain ?? ''}${comment !== undefined ? ` ${comment}` : ''}`;

/** The texts of a wanted verdict map's elements. */
export const wantedMapElements = (elements: readonly NftMapElement[], types: readonly KeyType[], family: NftFamily): string[] =>
  elements.map((e) => verdictText(keyHex(e.key, types, family), e.verdict.kind, 'chain' in e.verdict ? e.verdict.chain : undefined, e.comment));

/** The texts of a listed verdict map's elements. */
export const listedMapElements = (s: ListedSet): string[] =>
  s.elements.map((e) => verdictText(e.key, e.verdict?.kind, e.verdict?.chain, e.userdata === undefined ? undefined : udataComment(e.userdata, NFTNL_UDATA_SET_ELEM_COMMENT)));

/** The texts of a wanted data map's elements: key, then the value `addr . port` (the port padded to 4 bytes). */
export function wantedDataElements(elements: readonly NftDataElement[], types: readonly KeyType[], family: NftFamily): string[] {
  return elements.map((e) => `${keyHex(e.key, types, family)}=${addrHex(e.addr, family)}${fieldHex('inet_service', e.port, family)}0000`);
}

/** The texts of a listed data map's elements. */
export const listedDataElements = (s: ListedSet): string[] => s.elements.map((e) => `${e.key}=${e.data ?? ''}`);

/** Up to this many elements a side, two scans are cheaper than a Set (most of layout maps' sets hold a service's few endpoints). */
const SMALL = 16;

/** Each side taken as a set: the same texts. */
function sameSets(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  if (x.size !== y.size) return false;
  for (const e of y) if (!x.has(e)) return false;
  return true;
}

/**
 * The same element texts, each side taken as a set (as the canonical comparison does): one Set of
 * the found texts, each wanted text taken out of it. A text not there (missing, or wanted twice)
 * is settled by comparing both sides as sets.
 */
export function sameElementTexts(wanted: readonly string[], found: readonly string[]): boolean {
  if (wanted.length === found.length && wanted.length <= SMALL) return wanted.every((e) => found.includes(e)) && found.every((e) => wanted.includes(e));
  const f = new Set(found);
  for (const e of wanted) if (!f.delete(e)) return sameSets(wanted, found);
  return f.size === 0;
}
