/**
 * The `nft` backend: builds the NftRuleset, renders it as one `nft -f -` script and runs it in
 * the target. Only kpb's own table (`ip kube-proxy` / `ip6 kube-proxy`) is ever touched.
 */
import { runTool } from '@kpb/backend';
import type { ApplyResult, Backend, SyncResult, Target, TracePacket, TraceResult, VerifyResult } from '@kpb/backend';
import { diffPlans } from '@kpb/compiler';
import type { Plan } from '@kpb/compiler';
import { buildRuleset } from './build.ts';
import type { BuildOptions } from './build.ts';
import { canonicalizeListing, compareCanon, parseCanon, parseListing } from './canonical.ts';
import { diffRulesets, renderOps } from './diff.ts';
import { canonicalObjects, renderCanonical, renderScript } from './render.ts';
import { checkReferences } from './ruleset.ts';
import type { NftFamily, NftLayout, NftRuleset } from './ruleset.ts';
import { traceRuleset } from './trace.ts';

export interface NftBackendOptions {
  /** `flat` (default): no anonymous set per service. `kube-proxy`: kube-proxy's numgen vmaps. */
  readonly layout?: NftLayout;
  /** See `BuildOptions.clusterIPsCheck` (default false). */
  readonly clusterIPsCheck?: boolean;
  /** Kill `nft` after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /**
   * Skip the drift check in `sync` (reading the table back and comparing it with `from`). The
   * check costs one `nft list table`, which dominates a small sync at scale. Default false.
   */
  readonly trustKernel?: boolean;
}

const TABLE = 'kube-proxy';

const countLines = (text: string): number => (text ? text.split('\n').length - (text.endsWith('\n') ? 1 : 0) : 0);

export interface NftBackend extends Backend {
  /** The ruleset this backend builds for a plan. */
  build(plan: Plan): NftRuleset;
  /** Canonical text of what the plan loads (equal to `readBack` after `apply`). */
  renderCanonical(plan: Plan): string;
}

export function createNftBackend(options: NftBackendOptions = {}): NftBackend {
  const layout: NftLayout = options.layout ?? 'flat';
  const buildOptions: BuildOptions = { layout, clusterIPsCheck: options.clusterIPsCheck ?? false };
  const timeoutMs = options.timeoutMs ?? 600_000;
  const cache = new WeakMap<Plan, NftRuleset>();

  const build = (plan: Plan): NftRuleset => {
    let rs = cache.get(plan);
    if (!rs) {
      rs = buildRuleset(plan, buildOptions);
      const problems = checkReferences(rs);
      if (problems.length) throw new Error(`nft ruleset refers to missing objects: ${problems.slice(0, 5).join('; ')}`);
      cache.set(plan, rs);
    }
    return rs;
  };

  const nft = (target: Target, args: readonly string[], input?: string) =>
    runTool(target, 'nft', args, { timeoutMs, ...(input !== undefined ? { input } : {}) });

  const listTable = async (target: Target, family: NftFamily): Promise<string> => {
    const r = await runTool(target, 'nft', ['list', 'table', family, TABLE], { timeoutMs, allowFailure: true });
    if (r.code === 0) return r.stdout;
    if (/No such file or directory/.test(r.stderr)) return '';
    throw new Error(`nft list table ${family} ${TABLE} failed: ${r.stderr.trim()}`);
  };

  const applyRuleset = async (target: Target, plan: Plan): Promise<ApplyResult> => {
    const t0 = performance.now();
    const script = renderScript(build(plan));
    const t1 = performance.now();
    await nft(target, ['-f', '-'], script);
    const t2 = performance.now();
    return { timings: { render: t1 - t0, kernel: t2 - t1 }, size: { unit: 'lines', count: countLines(script) } };
  };

  const readFamily = async (target: Target, family: NftFamily): Promise<string> => canonicalizeListing(await listTable(target, family));

  const backend: NftBackend = {
    name: 'nft',
    variant: layout,
    build,
    renderCanonical: (plan) => renderCanonical(build(plan)),
    renderText: (plan) => renderScript(build(plan)),

    apply: (target, plan) => applyRuleset(target, plan),

    async sync(target: Target, from: Plan | undefined, to: Plan): Promise<SyncResult> {
      const full = async (reason: string): Promise<SyncResult> => {
        const r = await applyRuleset(target, to);
        return { ...r, mode: 'full', reason, changedServicePorts: to.servicePorts.map((sp) => sp.key) };
      };
      if (!from) return full('nothing known about the kernel (no previous plan)');
      const changes = diffPlans(from, to);
      if (changes.settingsChanged) return full('node settings, node IPs or family changed');
      const t0 = performance.now();
      const before = build(from);
      const after = build(to);
      const kernel = options.trustKernel ? '' : await readFamily(target, before.family);
      const expected = options.trustKernel ? '' : renderCanonical(before);
      if (kernel !== expected) {
        const diffs = compareCanon(canonicalObjects(before), parseCanon(kernel));
        const first = diffs[0];
        return full(`drift: the kernel does not hold the previous plan (${diffs.length} difference(s)${first ? `, first: ${first.kind} ${first.object}` : ''})`);
      }
      const t1 = performance.now();
      const diff = diffRulesets(before, after);
      if (diff.fullReason) return full(diff.fullReason);
      const script = renderOps(diff.ops, after.family, after.table);
      const t2 = performance.now();
      if (script) await nft(target, ['-f', '-'], script);
      const t3 = performance.now();
      return {
        mode: 'incremental',
        timings: { render: t2 - t1, kernel: t3 - t2, other: t1 - t0 },
        size: { unit: 'lines', count: countLines(script) },
        changedServicePorts: [...changes.added, ...changes.changed, ...changes.removed],
      };
    },

    async readBack(target: Target): Promise<string> {
      const parts = await Promise.all((['ip', 'ip6'] as const).map((f) => readFamily(target, f)));
      return parts.join('');
    },

    async verify(target: Target, plan: Plan): Promise<VerifyResult> {
      const rs = build(plan);
      const found = parseListing(await listTable(target, rs.family));
      const differences = compareCanon(canonicalObjects(rs), found);
      return { ok: differences.length === 0, differences };
    },

    async flush(target: Target): Promise<void> {
      // add + delete: never fails when the table does not exist; other tables are untouched.
      const script = (['ip', 'ip6'] as const).map((f) => `add table ${f} ${TABLE}\ndelete table ${f} ${TABLE}\n`).join('');
      await nft(target, ['-f', '-'], script);
    },

    trace(plan: Plan, packet: TracePacket): TraceResult {
      return traceRuleset(build(plan), { nodeIPs: plan.nodeIPs }, packet);
    },
  };
  return backend;
}
