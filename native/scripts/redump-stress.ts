// Loads a 10k-element hash set and lists it at once, N times (the case of kernel test (d)):
// how often an element dump repeats elements (a resize between its parts) and whether every
// listing holds every element once. Usage (root): npx tsx native/scripts/redump-stress.ts NETNS [N]
import { applyBatch, BatchBuilder, listRuleset } from '../index.ts';

const [netns, nArg] = process.argv.slice(2);
if (!netns) throw new Error('usage: redump-stress.ts NETNS [N]');
let redumps = 0;
let affected = 0;
let worst = 0;
const n = Number(nArg ?? 40);
for (let i = 0; i < n; i++) {
  const b = new BatchBuilder();
  const ref = { family: 'ip' as const, table: 'big', name: 'addrs' };
  b.addTable({ family: 'ip', name: 'big' });
  b.deleteTable({ family: 'ip', name: 'big' });
  b.addTable({ family: 'ip', name: 'big' });
  b.addSet({ ...ref, keyType: 7, keyLen: 4 });
  b.addElements(ref, Array.from({ length: 10_000 }, (_, k) => ({ key: Uint8Array.of(10, 100, k >> 8, k & 0xff) })));
  await applyBatch(netns, b.finish());
  const t0 = performance.now();
  const l = await listRuleset(netns, 'ip', 'big', { ruleText: false, stats: true });
  const ms = performance.now() - t0;
  const keys = new Set(l.sets[0]!.elements.map((e) => e.key));
  if (keys.size !== 10_000 || l.sets[0]!.elements.length !== 10_000) throw new Error(`listing ${i}: ${keys.size} distinct of ${l.sets[0]!.elements.length}`);
  const r = l.stats!.elementRedumps;
  redumps += r;
  if (r) affected++;
  worst = Math.max(worst, ms);
}
console.log(`${n} listings complete; ${affected} needed a re-dump, ${redumps} re-dumps in all; slowest listing ${worst.toFixed(1)} ms`);
