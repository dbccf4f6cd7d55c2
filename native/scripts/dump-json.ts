// The addon's raw listing JSON, with and without rule text, minus its stats: to compare builds.
// Usage (root): npx tsx native/scripts/dump-json.ts NETNS TABLE OUT-PREFIX
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { EXPR_SCHEMA } from '../lib/listing.ts';

const [netns, table, out] = process.argv.slice(2);
const addon = createRequire(import.meta.url)('../build/Release/kpb_nftnl.node') as { listRuleset(...a: unknown[]): Promise<string> };
for (const ruleText of [true, false]) {
  const l = JSON.parse(await addon.listRuleset(netns, 'ip', table, EXPR_SCHEMA, { ruleText, dynamicElements: true })) as Record<string, unknown>;
  delete l.stats;
  writeFileSync(`${out}-${ruleText ? 'text' : 'notext'}.json`, JSON.stringify(l));
}
