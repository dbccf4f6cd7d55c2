/**
 * The full apply's op stream, built one service port at a time (`encodeStream`), is byte for
 * byte the stream the encoder writes for the whole NftRuleset (`replace`), whose ops the golden
 * tests check: same ops in the same order, same set ids.
 */
import { describe, expect, it } from 'vitest';
import { buildRuleset, streamRuleset, TABLE } from '@kpb/backend-nft';
import type { NftLayout } from '@kpb/backend-nft';
import type { Plan } from '@kpb/compiler';
import { encodeStream, NftnlEncoder } from '../src/encode.ts';
import { encoders } from '../src/transport.ts';
import { cluster, plan } from './helpers.ts';

const wholeRuleset = (p: Plan, layout: NftLayout): Buffer => {
  const rs = buildRuleset(p, layout);
  const enc = new NftnlEncoder(rs.family, rs.table, { labels: false });
  enc.replace(rs);
  return enc.finish();
};

describe('encodeStream', () => {
  const p = plan(cluster(300, 7));
  const small = plan(cluster(20, 3));
  // With a nodeport-ips set and a service CIDR: two sets before the service ports' sets.
  const listed = { ...small, nodePortIPs: ['192.168.0.2'], serviceCIDRs: ['10.96.0.0/12', '172.30.0.0/16'] };
  for (const layout of ['flat', 'kube-proxy', 'maps'] as const) {
    it(`writes the bytes replace writes (${layout})`, () => {
      for (const x of [p, small, listed]) {
        const want = wholeRuleset(x, layout);
        expect(Buffer.compare(encodeStream(streamRuleset(x, layout), TABLE, { total: 1024, beforeRules: 0 }).buf, want)).toBe(0);
      }
    });
  }

  it('sizes each full encode from the last one, whether the next is smaller or larger', () => {
    // The builders are sized from the last encode of the family and layout: a larger plan
    // after a small one outgrows them (buffer growth, parts copied), and the bytes stay right.
    const big = plan(cluster(600, 7));
    for (const layout of ['flat', 'maps'] as const) {
      const enc = encoders(undefined);
      for (const x of [small, p, small, big, p]) expect(Buffer.compare(enc.full(x, layout), wholeRuleset(x, layout))).toBe(0);
    }
  });

  it('the plans cover affinity sets, anonymous sets and firewall chains', () => {
    const rs = buildRuleset(p, 'kube-proxy');
    expect(rs.sets.length).toBeGreaterThan(0);
    expect(rs.chains.some((c) => c.rules.some((r) => r.statements.some((s) => s.kind === 'match-addr-anon' && s.values.length > 1)))).toBe(true);
    expect(rs.chains.some((c) => c.rules.some((r) => r.statements.some((s) => s.kind === 'numgen-vmap')))).toBe(true);
  });
});
