/**
 * The iptables backend: apply / readBack / verify / sync / flush / trace.
 *
 * Full apply: iptables-save the current tables, drop what kpb owns, merge kpb's new rules in
 * (kpb's jumps first in each built-in chain, then everybody else's rules in their order), and
 * restore filter and nat WITHOUT --noflush in one iptables-restore call. Both variants commit
 * each table on its own (iptables-nft-restore 1.8.9 too: one nf_tables transaction per COMMIT),
 * so on failure the saved tables are restored (rollback): legacy from its full save, nft from a
 * save of the (small) filter table taken just before.
 */
import type { ApplyResult, Backend, SyncResult, Target, TracePacket, TraceResult, VerifyResult } from '@kpb/backend';
import { runTool, ToolError } from '@kpb/backend';
import { diffPlans, type Plan } from '@kpb/compiler';
import { renderRuleset, rulesetText, type RenderedRuleset } from './render.ts';
import {
  CHAIN_MARKER,
  holdsOwned,
  mergedRestoreInput,
  ownedText,
  parseChainListings,
  parseNftChains,
  parseSave,
  snapshotRestoreInput,
  type SavedTable,
} from './saved.ts';
import { OWNED_PREFIX, TABLES } from './names.ts';
import { partialRestoreInput } from './sync.ts';
import { trace } from './trace.ts';
import { diffCanonical } from './verify.ts';

export type IptablesVariant = 'nft' | 'legacy';

export interface IptablesBackendOptions {
  /** 'nft' (iptables-nft, default) or 'legacy'. */
  readonly variant?: IptablesVariant;
  /** Family for readBack/flush (apply, sync and verify use the plan's). Default IPv4. */
  readonly family?: 'IPv4' | 'IPv6';
  /** Kill a tool after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
}

/** Tool names for a variant and family. */
export function iptablesTools(variant: IptablesVariant, family: 'IPv4' | 'IPv6' = 'IPv4'): { save: string; restore: string } {
  const base = family === 'IPv6' ? 'ip6tables' : 'iptables';
  return { save: `${base}-${variant}-save`, restore: `${base}-${variant}-restore` };
}

const now = () => performance.now();

export function createIptablesBackend(options: IptablesBackendOptions = {}): Backend {
  const variant: IptablesVariant = options.variant ?? 'nft';
  const defaultFamily = options.family ?? 'IPv4';
  const timeoutMs = options.timeoutMs ?? 600_000;

  async function save(target: Target, family: 'IPv4' | 'IPv6'): Promise<Map<string, SavedTable>> {
    const { stdout } = await runTool(target, iptablesTools(variant, family).save, [], { timeoutMs });
    return parseSave(stdout);
  }

  /**
   * What others own in filter and nat, without a full iptables-save. iptables-nft-save 1.8.9 is
   * quadratic in the number of chains (10k services ≈ 40k chains: ~100 s here), but listing one
   * chain (`iptables-nft -t nat -S PREROUTING`) stays fast; so list the chain names with nft and
   * only the built-in and foreign chains with iptables. KUBE- chains are declared, not listed.
   */
  async function saveForeign(target: Target, family: 'IPv4' | 'IPv6'): Promise<Map<string, SavedTable>> {
    if (variant !== 'nft') return save(target, family);
    const { stdout } = await runTool(target, 'nft', ['list', 'chains', family === 'IPv6' ? 'ip6' : 'ip'], { timeoutMs });
    const chains = parseNftChains(stdout);
    const owned = new Map<string, string[]>();
    const script: string[] = [];
    const tool = family === 'IPv6' ? 'ip6tables-nft' : 'iptables-nft';
    for (const t of TABLES) {
      const names = chains.get(t);
      if (!names) continue;
      owned.set(t, names.filter((c) => c.startsWith(OWNED_PREFIX)));
      for (const c of names) {
        if (c.startsWith(OWNED_PREFIX)) continue;
        if (!/^[A-Za-z0-9_.:+-]+$/.test(c)) return save(target, family); // unusual name: take the slow, exact path
        script.push(`echo '${CHAIN_MARKER}${t} ${c}'`, `${tool} -t ${t} -S '${c}'`);
      }
    }
    if (script.length === 0) return parseChainListings('', owned);
    const listed = await runTool(target, 'sh', ['-ec', script.join('\n')], { timeoutMs });
    return parseChainListings(listed.stdout, owned);
  }

  async function restore(target: Target, family: 'IPv4' | 'IPv6', input: string, noflush: boolean): Promise<void> {
    await runTool(target, iptablesTools(variant, family).restore, noflush ? ['-w', '--noflush'] : ['-w'], { input, timeoutMs });
  }

  /**
   * The filter table as iptables-save prints it (restore input that puts it back). Both
   * iptables-restore variants commit table by table ("commit per table" in xtables-restore 1.8.9,
   * iptables-nft included): when nat fails after filter's COMMIT, filter is already replaced.
   * kpb's filter table is small (no per-endpoint chains), so saving it stays cheap at any scale.
   */
  async function saveFilter(target: Target, family: 'IPv4' | 'IPv6'): Promise<string> {
    const { stdout } = await runTool(target, iptablesTools(variant, family).save, ['-t', 'filter'], { timeoutMs });
    return stdout;
  }

  /** Puts back a table saved by saveFilter (best effort: the original error is what the caller reports). */
  async function restoreFilter(target: Target, family: 'IPv4' | 'IPv6', saved: string): Promise<void> {
    if (saved.includes('*filter')) await restore(target, family, saved, false).catch(() => undefined);
  }

  /** Replace kpb's part of filter and nat, keeping the rest; rolls back (legacy) on failure. */
  async function replaceOwned(target: Target, family: 'IPv4' | 'IPv6', ruleset: RenderedRuleset | undefined) {
    const t0 = now();
    const saved = await saveForeign(target, family);
    if (!ruleset && !holdsOwned(saved)) return { other: now() - t0, kernel: 0, lines: 0 };
    const input = mergedRestoreInput(saved, ruleset);
    // legacy: the full save is at hand; nft: saveForeign does not list kpb's chains, save filter.
    const filterBefore = variant === 'nft' ? await saveFilter(target, family) : undefined;
    const t1 = now();
    try {
      await restore(target, family, input.text, false);
    } catch (e) {
      // iptables-restore commits table by table (both variants): put back what was saved.
      if (variant === 'legacy') await restore(target, family, snapshotRestoreInput(saved), false).catch(() => undefined);
      else if (filterBefore !== undefined) await restoreFilter(target, family, filterBefore);
      throw e;
    }
    return { other: t1 - t0, kernel: now() - t1, lines: input.lines };
  }

  async function readBackFamily(target: Target, family: 'IPv4' | 'IPv6'): Promise<string> {
    return ownedText(await save(target, family));
  }

  async function apply(target: Target, plan: Plan): Promise<ApplyResult> {
    const t0 = now();
    const ruleset = renderRuleset(plan);
    const render = now() - t0;
    const r = await replaceOwned(target, plan.family, ruleset);
    return { timings: { render, kernel: r.kernel, other: r.other }, size: { unit: 'lines', count: r.lines } };
  }

  async function fullSync(target: Target, to: Plan, reason: string, extraOther = 0, extraRender = 0): Promise<SyncResult> {
    const result = await apply(target, to);
    return {
      ...result,
      timings: {
        render: result.timings.render + extraRender,
        kernel: result.timings.kernel,
        other: (result.timings.other ?? 0) + extraOther,
      },
      mode: 'full',
      reason,
      changedServicePorts: to.servicePorts.map((sp) => sp.key),
    };
  }

  async function sync(target: Target, from: Plan | undefined, to: Plan): Promise<SyncResult> {
    if (!from) return fullSync(target, to, 'no previous plan known');
    const changes = diffPlans(from, to);
    if (changes.settingsChanged) return fullSync(target, to, 'node settings or node IPs changed');
    const t0 = now();
    const fromRules = renderRuleset(from);
    const toRules = renderRuleset(to);
    const render = now() - t0;
    if (fromRules.largeCluster !== toRules.largeCluster) {
      return fullSync(target, to, 'large-cluster mode (endpoint comments) changed', 0, render);
    }
    const t1 = now();
    const found = await readBackFamily(target, to.family);
    const expected = rulesetText(fromRules);
    if (found !== expected) {
      const diffs = diffCanonical(expected, found);
      const first = diffs[0] ? `${diffs[0].kind} ${diffs[0].object}` : 'text differs';
      return fullSync(target, to, `drift: the kernel does not hold the previous plan (${diffs.length} differences; first: ${first})`, now() - t1, render);
    }
    const t2 = now();
    const partial = partialRestoreInput(fromRules, toRules, changes);
    const other = now() - t1;
    if (partial.written.length === 0 && partial.stale.length === 0 && changes.removed.length === 0) {
      return { timings: { render, kernel: 0, other }, size: { unit: 'lines', count: 0 }, mode: 'incremental', changedServicePorts: [] };
    }
    const filterBefore = partial.text.includes('*filter') ? await saveFilter(target, to.family) : '';
    const t3 = now();
    try {
      await restore(target, to.family, partial.text, true);
    } catch (e) {
      // filter may have been committed before nat failed: put it back before the full apply.
      await restoreFilter(target, to.family, filterBefore);
      const why = e instanceof ToolError ? e.message : String(e);
      return fullSync(target, to, `partial restore failed, full apply instead: ${why}`, now() - t1, render);
    }
    return {
      timings: { render: render + (t3 - t2), kernel: now() - t3, other: t2 - t1 },
      size: { unit: 'lines', count: partial.lines },
      mode: 'incremental',
      changedServicePorts: [...partial.written, ...changes.removed],
    };
  }

  async function verify(target: Target, plan: Plan): Promise<VerifyResult> {
    const want = rulesetText(renderRuleset(plan));
    const got = await readBackFamily(target, plan.family);
    const differences = diffCanonical(want, got);
    return { ok: differences.length === 0, differences };
  }

  return {
    name: 'iptables',
    variant,
    renderText: (plan: Plan) => rulesetText(renderRuleset(plan)),
    apply,
    sync,
    readBack: (target: Target) => readBackFamily(target, defaultFamily),
    verify,
    flush: async (target: Target) => {
      await replaceOwned(target, defaultFamily, undefined);
    },
    trace: (plan: Plan, packet: TracePacket): TraceResult => trace(plan, packet),
  };
}
