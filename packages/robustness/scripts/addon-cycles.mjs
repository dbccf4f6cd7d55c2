// Runs under valgrind: plain Node (no tsx), the addon loaded directly. Batches and the listing's
// expression schema (EXPR_SCHEMA) were made by the test and passed as files.
// argv: addonPath netns cycles good.bin bad.bin schema.json
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const [addonPath, netns, cyclesText, goodPath, badPath, schemaPath] = process.argv.slice(2);
const addon = createRequire(import.meta.url)(addonPath);
const good = readFileSync(goodPath);
const bad = readFileSync(badPath);
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const cycles = Math.min(Number(cyclesText), 100000);
let typeErrors = 0;
let rejected = 0;
let elements = 0;
for (const f of [() => addon.applyBatch(42), () => addon.applyBatch(netns, 'x'), () => addon.getGeneration({}), () => addon.listRuleset(netns, 'arp', 't', schema), () => addon.listRuleset(netns, 'ip', 7, schema)]) {
  try { f(); } catch (e) { if (e instanceof TypeError) typeErrors++; }
}
for (let i = 0; i < cycles; i++) {
  await addon.applyBatch(netns, good);
  await addon.getGeneration(netns);
  const l = await addon.listRuleset(netns, 'ip', 'kpbtest', schema);
  elements += JSON.stringify(l).length > 0 ? 1 : 0;
  if (i % 10 === 0) await addon.applyBatch(netns, bad).catch(() => rejected++);
  await addon.listRuleset(netns, 'ip', 'no-such-table', schema);
}
console.log(JSON.stringify({ cycles, typeErrors, rejected, listings: elements }));
