/**
 * iptables apply-path measurements (run as root): npx tsx bench/measure/iptables-apply.ts [sizes…]
 * For each variant and size: (a) apply into an empty namespace, (b) apply over the same ruleset,
 * (c) apply over 50+ foreign rules (with foreign chains); then a one-service partial restore.
 */
import { diffPlans } from '@kpb/compiler';
import { runTool } from '@kpb/backend';
import { createIptablesBackend, partialRestoreInput } from '@kpb/backend-iptables';
import { bigCluster, planOf } from '../../packages/backend-iptables/test/fixtures.ts';
import { createNetns, deleteNetns, foreignRules, inNetns } from '../../packages/backend-iptables/test/netns.ts';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
for (const variant of ['nft', 'legacy'] as const) {
  const backend = createIptablesBackend({ variant });
  for (const n of sizes.length ? sizes : [1000, 5000, 10000]) {
    const plan = planOf(bigCluster(n, 3));
    const row: string[] = [`${variant} ${n}`];
    const nsA = createNetns();
    const nsC = createNetns();
    try {
      const a = await backend.apply(nsA, plan);
      row.push(`empty ${(a.timings.kernel / 1000).toFixed(2)}s (+save ${(a.timings.other! / 1000).toFixed(2)}s, render ${a.timings.render.toFixed(0)}ms)`);
      const b = await backend.apply(nsA, plan);
      row.push(`reload ${(b.timings.kernel / 1000).toFixed(2)}s (+save ${(b.timings.other! / 1000).toFixed(2)}s)`);
      inNetns(nsC, [`iptables-${variant}-restore`], foreignRules());
      const c = await backend.apply(nsC, plan);
      row.push(`foreign ${(c.timings.kernel / 1000).toFixed(2)}s (+save ${(c.timings.other! / 1000).toFixed(2)}s)`);
      // One service changes (its endpoint moves): partial restore, as sync sends it.
      const changed = planOf(bigCluster(n, 3, 1));
      const to = { ...plan, servicePorts: plan.servicePorts.map((sp, i) => (i === 0 ? changed.servicePorts.find((x) => x.key === sp.key)! : sp)) };
      const p = partialRestoreInput(plan, to, diffPlans(plan, to));
      const t = performance.now();
      await runTool(nsA, `iptables-${variant}-restore`, ['-w', '--noflush'], { input: p.text });
      row.push(`sync1 ${((performance.now() - t) / 1000).toFixed(2)}s (${p.lines} lines)`);
    } finally {
      deleteNetns(nsA);
      deleteNetns(nsC);
    }
    console.log(row.join(' | '));
  }
}
