/**
 * Regenerates test/__golden__/exprs-<family>.json: the kitchen-sink ruleset loaded by `nft -f`
 * (nft 1.0.6) into a throwaway namespace, listed through the addon: per chain, each rule's
 * libnftnl expressions (the `nft --debug=netlink` text and the attributes) and the set
 * definitions with their USERDATA. Run as root: `npx tsx test/make-golden.ts`.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { renderScript } from '@kpb/backend-nft';
import { listRuleset } from '@kpb/native';
import { kitchenSink } from './kitchen.ts';
import { deleteNetns, makeNetns, nftIn } from './helpers.ts';

const dir = new URL('./__golden__/', import.meta.url);
mkdirSync(dir, { recursive: true });
const t = makeNetns();
try {
  for (const family of ['ip', 'ip6'] as const) {
    const rs = kitchenSink(family);
    nftIn(t, ['-f', '-'], renderScript(rs));
    const l = await listRuleset(t.name, family, 'kube-proxy');
    const golden = {
      chains: l.chains.map((c) => ({
        name: c.name,
        ...(c.userdata ? { userdata: c.userdata } : {}),
        rules: c.rules.map((r) => ({ debug: (r.text ?? '').split('\n').slice(1).filter((x) => x.trim().startsWith('[')).map((x) => x.trim()), ...(r.userdata ? { userdata: r.userdata } : {}), exprs: r.exprs })),
      })),
      sets: l.sets.map(({ handle: _h, elements, ...s }) => ({ ...s, elements: [...elements].sort((x, y) => (x.key < y.key ? -1 : 1)) })),
    };
    writeFileSync(new URL(`exprs-${family}.json`, dir), `${JSON.stringify(golden, null, 1)}\n`);
  }
} finally {
  deleteNetns(t);
}
