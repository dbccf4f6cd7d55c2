/**
 * The full apply's op stream, built one service port at a time (`encodeStream`), is byte for
 * byte the stream the encoder writes for the whole NftRuleset (`replace`), whose ops the golden
 * tests check: same ops in the same order, same set ids.
 */
import { describe, expect, it } from 'vitest';
import { buildRuleset, streamRuleset, TABLE } from '@kpb/backend-nft';
import type { NftLayout } from '@kpb/backend-nft';

type BuildOptions = { readonly layout: NftLayout; readonly clusterIPsCheck?: boolean };
import { encodeStream, NftnlEncoder } from '../src/encode.ts';
import { cluster, plan } from './helpers.ts';

const wholeRuleset = (p: Parameters<typeof buildRuleset>[0], options: BuildOptions): Buffer => {
  const rs = buildRuleset(p, options);
  const enc = new NftnlEncoder(rs.family, rs.table, { labels: false });
  enc.replace(rs);
  return enc.finish();
};

describe('encodeStream', () => {
  const p = plan(cluster(300, 7));
  const small = plan(cluster(20, 3));
  for (const options of [{ layout: 'flat' }, { layout: 'kube-proxy' }, { layout: 'flat', clusterIPsCheck: true }, { layout: 'kube-proxy', clusterIPsCheck: true }] as const) {
    it(`writes the bytes replace writes (${JSON.stringify(options)})`, () => {
      for (const x of [p, small]) {
        const want = wholeRuleset(x, options);
        expect(Buffer.compare(encodeStream(streamRuleset(x, options), TABLE, 1024), want)).toBe(0);
      }
    });
  }

  it('the plans cover affinity sets, anonymous sets and firewall chains', () => {
    const rs = buildRuleset(p, 'kube-proxy');
    expect(rs.sets.length).toBeGreaterThan(0);
    expect(rs.chains.some((c) => c.rules.some((r) => r.statements.some((s) => s.kind === 'match-addr-anon' && s.values.length > 1)))).toBe(true);
    expect(rs.chains.some((c) => c.rules.some((r) => r.statements.some((s) => s.kind === 'numgen-vmap')))).toBe(true);
  });
});
