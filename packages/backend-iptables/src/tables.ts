/**
 * The iptables backend's kernel side: iptables-save and -restore of the filter and nat tables
 * in a target, through the tool runner port.
 *
 * A full replace saves the current tables, drops what kpb owns, merges kpb's new rules in (kpb's
 * jumps first in each built-in chain, then everybody else's rules in their order), and restores
 * filter and nat WITHOUT --noflush in one iptables-restore call. Both variants commit each table
 * on its own (iptables-nft-restore 1.8.9 too: one nf_tables transaction per COMMIT), so on
 * failure the saved tables are restored (rollback): legacy from its full save, nft from a save
 * of the (small) filter table taken just before.
 */
import type { Clock, RunTool, Target } from '@kpb/backend';
import type { CommitBinding } from '@kpb/backend-nft';
import type { RenderedRuleset } from './render.ts';
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

export type IptablesVariant = 'nft' | 'legacy';
type Family = 'IPv4' | 'IPv6';

/** Tool names for a variant and family. */
export function iptablesTools(variant: IptablesVariant, family: Family = 'IPv4'): { save: string; restore: string } {
  const base = family === 'IPv6' ? 'ip6tables' : 'iptables';
  return { save: `${base}-${variant}-save`, restore: `${base}-${variant}-restore` };
}

export interface TablesContext {
  readonly variant: IptablesVariant;
  readonly runTool: RunTool;
  readonly clock: Clock;
  readonly timeoutMs: number;
  /** iptables-nft only (legacy has no ruleset generation): commits bound to the generation. */
  readonly binding?: CommitBinding;
}

/**
 * Ruleset generation steps of one iptables-nft-restore run, measured on Linux 6.18 with
 * iptables 1.8.9: one per table of the input (a full apply of filter and nat: +2, at 20 or 2000
 * services, fresh or over kpb's own rules; a partial sync: +2; the --noflush apply: +2, then +1
 * per `iptables -I` of a missing jump, `-C` none), except a --noflush table with no lines (+0),
 * which kpb never writes.
 */
export function restoreSteps(input: string): number {
  return input.match(/^\*/gm)?.length ?? 0;
}

/** iptables-save of the target, as printed. */
export async function saveText(ctx: TablesContext, target: Target, family: Family): Promise<string> {
  const { stdout } = await ctx.runTool(target, iptablesTools(ctx.variant, family).save, [], { timeoutMs: ctx.timeoutMs, stdoutToFile: true });
  return stdout;
}

/** iptables-save of the target, parsed. */
async function save(ctx: TablesContext, target: Target, family: Family): Promise<Map<string, SavedTable>> {
  return parseSave(await saveText(ctx, target, family));
}

/** What kpb owns in filter and nat now, as canonical text. */
export async function readOwned(ctx: TablesContext, target: Target, family: Family): Promise<string> {
  return ownedText(await save(ctx, target, family));
}

/**
 * What others own in filter and nat, without a full iptables-save. iptables-nft-save 1.8.9 is
 * quadratic in the number of chains (10k services ≈ 40k chains: ~100 s here), but listing one
 * chain (`iptables-nft -t nat -S PREROUTING`) stays fast; so list the chain names with nft and
 * only the built-in and foreign chains with iptables. KUBE- chains are declared, not listed.
 */
async function saveForeign(ctx: TablesContext, target: Target, family: Family): Promise<Map<string, SavedTable>> {
  if (ctx.variant !== 'nft') return save(ctx, target, family);
  const { stdout } = await ctx.runTool(target, 'nft', ['list', 'chains', family === 'IPv6' ? 'ip6' : 'ip'], { timeoutMs: ctx.timeoutMs });
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
      if (!/^[A-Za-z0-9_.:+-]+$/.test(c)) return save(ctx, target, family); // unusual name: take the slow, exact path
      script.push(`echo '${CHAIN_MARKER}${t} ${c}'`, `${tool} -t ${t} -S '${c}'`);
    }
  }
  if (script.length === 0) return parseChainListings('', owned);
  const listed = await ctx.runTool(target, 'sh', ['-ec', script.join('\n')], { timeoutMs: ctx.timeoutMs });
  return parseChainListings(listed.stdout, owned);
}

export async function restore(ctx: TablesContext, target: Target, family: Family, input: string, noflush: boolean): Promise<void> {
  const args = noflush ? ['-w', '--noflush'] : ['-w'];
  await ctx.runTool(target, iptablesTools(ctx.variant, family).restore, args, { input, timeoutMs: ctx.timeoutMs });
}

/**
 * The filter table as iptables-save prints it (restore input that puts it back). Both
 * iptables-restore variants commit table by table ("commit per table" in xtables-restore 1.8.9,
 * iptables-nft included): when nat fails after filter's COMMIT, filter is already replaced.
 * kpb's filter table is small (no per-endpoint chains), but iptables-nft-save reads every
 * table's chains to print one: at 10k services this takes seconds (iptables-legacy-save stays cheap).
 */
export async function saveFilter(ctx: TablesContext, target: Target, family: Family): Promise<string> {
  const { stdout } = await ctx.runTool(target, iptablesTools(ctx.variant, family).save, ['-t', 'filter'], { timeoutMs: ctx.timeoutMs });
  return stdout;
}

/** Puts back a table saved by saveFilter (best effort: the original error is what the caller reports). */
export async function restoreFilter(ctx: TablesContext, target: Target, family: Family, saved: string): Promise<void> {
  if (saved.includes('*filter')) await restore(ctx, target, family, saved, false).catch(() => undefined);
}

/**
 * Replace kpb's part of filter and nat with `ruleset` (nothing: remove it), keeping the rest;
 * on failure puts back what was there (legacy: the full save; nft: the filter table). `before`:
 * the ruleset generation right before the restore (iptables-nft), which makes `steps`.
 */
export async function replaceOwned(ctx: TablesContext, target: Target, family: Family, ruleset: RenderedRuleset | undefined) {
  const t0 = ctx.clock();
  const saved = await saveForeign(ctx, target, family);
  if (!ruleset && !holdsOwned(saved)) return { other: ctx.clock() - t0, kernel: 0, lines: 0, bytes: 0, before: undefined, steps: 0 };
  const input = mergedRestoreInput(saved, ruleset);
  // legacy: the full save is at hand; nft: saveForeign does not list kpb's chains, save filter.
  const filterBefore = ctx.variant === 'nft' ? await saveFilter(ctx, target, family) : undefined;
  const before = await ctx.binding?.generation(target);
  const t1 = ctx.clock();
  try {
    await restore(ctx, target, family, input.text, false);
  } catch (e) {
    // iptables-restore commits table by table (both variants): put back what was saved.
    if (ctx.variant === 'legacy') await restore(ctx, target, family, snapshotRestoreInput(saved), false).catch(() => undefined);
    else if (filterBefore !== undefined) await restoreFilter(ctx, target, family, filterBefore);
    throw e;
  }
  return { other: t1 - t0, kernel: ctx.clock() - t1, lines: input.lines, bytes: Buffer.byteLength(input.text), before, steps: restoreSteps(input.text) };
}
