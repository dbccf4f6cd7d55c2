// Runs under valgrind: plain Node (no tsx), the addon loaded directly. Batches were built by the
// test (BatchBuilder) and passed as files. argv: addonPath netns cycles good.bin bad.bin
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const [addonPath, netns, cyclesText, goodPath, badPath] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(addonPath);
const good = readFileSync(goodPath);
const bad = readFileSync(badPath);
const cycles = Math.min(Number(cyclesText), 100000);
let typeErrors = 0;
let rejected = 0;
let elements = 0;
for (const f of [() => addon.applyBatch(42), () => addon.applyBatch(netns, 'x'), () => addon.getGeneration({}), () => addon.listRuleset(netns, 'arp', 't'), () => addon.listRuleset(netns, 'ip', 7)]) {
  try { f(); } catch (e) { if (e instanceof TypeError) typeErrors++; }
}
for (let i = 0; i < cycles; i++) {
  await addon.applyBatch(netns, good);
  await addon.getGeneration(netns);
  const l = await addon.listRuleset(netns, 'ip', 'kpbtest');
  elements += JSON.stringify(l).length > 0 ? 1 : 0;
  if (i % 10 === 0) await addon.applyBatch(netns, bad).catch(() => rejected++);
  await addon.listRuleset(netns, 'ip', 'no-such-table');
}
console.log(JSON.stringify({ cycles, typeErrors, rejected, listings: elements }));
