// Raw addon listRuleset calls (the JSON string, then JSON.parse), timed, with the addon's stats: for
// strace/perf. Usage (root): [RULE_TEXT=1] [DYNAMIC_ELEMENTS=0] npx tsx native/scripts/list-raw.ts NETNS [RUNS]
import { createRequire } from 'node:module';
import { EXPR_SCHEMA } from '../lib/listing.ts';
const req = createRequire(import.meta.url);
const addon = req('../build/Release/kpb_nftnl.node') as { listRuleset(n: string, f: string, t: string, s: unknown): Promise<string> };
const n = Number(process.argv[3] ?? 1);
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  const json = await addon.listRuleset(process.argv[2]!, 'ip', 'kube-proxy', EXPR_SCHEMA, { ruleText: process.env.RULE_TEXT === '1', dynamicElements: process.env.DYNAMIC_ELEMENTS !== '0' });
  const t1 = performance.now();
  const l = JSON.parse(json) as { stats?: unknown; chains: { rules: unknown[] }[] };
  console.log(`native ${(t1 - t0).toFixed(0)} ms, JSON ${(json.length / 1e6).toFixed(1)} MB, parse ${(performance.now() - t1).toFixed(0)} ms, rules ${l.chains.reduce((n, c) => n + c.rules.length, 0)}`, JSON.stringify(l.stats));
}
