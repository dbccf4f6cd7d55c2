/**
 * kube-proxy's object-name hashes: base32 (RFC 4648 standard alphabet, upper case, no padding)
 * of the SHA-256 of a string, cut to a number of characters.
 */
import { hash } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32(bytes: Uint8Array, chars: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
      if (out.length === chars) return out;
    }
  }
  if (bits > 0 && out.length < chars) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out.slice(0, chars);
}

/** First `chars` characters of base32(SHA-256(input)). */
export function hashName(input: string, chars: number): string {
  // The one-shot hash: about twice as fast as createHash().update().digest() for short names.
  return base32(hash('sha256', input, 'buffer'), chars);
}
