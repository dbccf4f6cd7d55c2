// Times the nftnl read-back at scale: the addon's listRuleset alone and backend.verify.
// Usage (root): [RULE_TEXT=0] npx tsx native/scripts/time-listing.ts NETNS CLUSTER.json [RUNS] [list|verify]
// (after `kpb apply --backend nftnl --input CLUSTER.json --netns NETNS`).
import { readFileSync } from 'node:fs';
import { listRuleset } from '@kpb/native';
import { createNftnlBackend } from '@kpb/backend-nftnl';
import { compile } from '@kpb/compiler';
import { loadCluster } from '../../packages/cli/src/input.ts';
import { resolveSettings } from '../../packages/cli/src/options.ts';

const [netns, file, runsArg, only] = process.argv.slice(2);
if (!netns || !file) throw new Error('usage: time-listing.ts NETNS CLUSTER.json [RUNS] [list|verify]');
const runs = Number(runsArg ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cluster = loadCluster(file);
const { settings } = resolveSettings({ backend: 'nftnl', masqueradeBit: '14', localhostNodeports: true, layout: 'flat', iptables: 'nft', lockWait: '5' }, cluster);
const backend = createNftnlBackend({ stateDir: '/tmp/kpbh/state' });
const list: number[] = [];
const verify: number[] = [];
for (let i = 0; i < runs; i++) {
  if (only !== 'verify') {
    const t0 = performance.now();
    const l = await listRuleset(netns, 'ip', 'kube-proxy', { ruleText: process.env.RULE_TEXT !== '0' });
    list.push(performance.now() - t0);
    if (i === 0) console.log(`chains ${l.chains.length}, rules ${l.chains.reduce((n, c) => n + c.rules.length, 0)}, sets ${l.sets.length}, elements ${l.sets.reduce((n, s) => n + s.elements.length, 0)}`);
  }
  if (only !== 'list') {
    // A fresh plan each run, compiled untimed: the backend memoizes the ruleset per plan object,
    // and verify of a new plan (what `kpb verify` does) builds it.
    const plan = compile(cluster, settings);
    const t1 = performance.now();
    const r = await backend.verify({ kind: 'netns', name: netns }, plan);
    verify.push(performance.now() - t1);
    if (!r.ok) console.log(`verify: ${r.differences.length} differences`, r.differences.slice(0, 3));
  }
}
console.log(`loadavg ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
if (list.length) console.log(`listRuleset ms: ${list.map((x) => x.toFixed(0)).join(' ')}  median ${median(list).toFixed(0)}`);
if (verify.length) console.log(`verify ms:      ${verify.map((x) => x.toFixed(0)).join(' ')}  median ${median(verify).toFixed(0)}`);
