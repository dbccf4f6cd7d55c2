/**
 * kube-proxy's own way to load rules, as a selectable way to apply: `iptables-restore --noflush`
 * with every KUBE chain declared (a declared chain is flushed, nothing else is), stale chains
 * deleted with `-X`, and the jumps from the built-in chains ensured separately with `iptables -C`
 * / `iptables -I` (kube-proxy's EnsureRule). It is built from the iptables backend's own rendered
 * text, so the rules are the same; only the way they reach the kernel differs. Sync, read-back,
 * verify, flush and trace are the iptables backend's, and so are the commit records (iptables-nft):
 * an apply here is recorded for the iptables backend's sync to trust.
 */
import { ALL_FAMILIES, countLines, planDigest, targetId } from '@kpb/backend';
import type { ApplyResult, Backend, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import type { IPFamily } from '@kpb/model';
import { applyFamilies, familiesText, iptablesBackend, tablesContext, type IptablesBackendOptions } from './backend.ts';
import { iptablesTools, restoreSteps } from './tables.ts';
import { KUBE_FIREWALL } from './names.ts';
import { tokenize } from './saved.ts';

/** User chains declared, per table. */
type DeclaredChains = ReadonlyMap<string, ReadonlySet<string>>;

interface NoflushText {
  /** iptables-restore --noflush input. */
  readonly text: string;
  /** Rules appended to built-in chains, to be ensured one by one: [table, chain, ...args]. */
  readonly jumps: readonly (readonly string[])[];
  readonly chains: DeclaredChains;
}

/** Built-in chains of any table: never declared, never flushed; jumps into KUBE chains are ensured in them. */
const BUILTIN = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);
const isBuiltin = (chain: string | undefined): boolean => chain !== undefined && BUILTIN.has(chain);

/**
 * Turn full-restore text into --noflush text. `previous` holds the chains an earlier load
 * declared: those no longer wanted are deleted (declared, then `-X`), as kube-proxy does.
 */
function toNoflush(text: string, previous?: DeclaredChains): NoflushText {
  const out: string[] = [];
  const jumps: string[][] = [];
  const chains = new Map<string, Set<string>>();
  let table = '';
  let declaredAt = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      table = line.slice(1);
      chains.set(table, chains.get(table) ?? new Set());
      out.push(line);
      declaredAt = out.length;
      continue;
    }
    if (line === 'COMMIT') {
      const want = chains.get(table)!;
      const stale = [...(previous?.get(table) ?? [])].filter((c) => !want.has(c));
      out.splice(declaredAt, 0, ...stale.map((c) => `:${c} - [0:0]`));
      for (const c of stale) out.push(`-X ${c}`);
      out.push(line);
      continue;
    }
    if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s+/)[0]!;
      if (isBuiltin(name)) continue;
      chains.get(table)?.add(name);
      out.push(`:${name} - [0:0]`);
      declaredAt = out.length;
      continue;
    }
    const args = tokenize(line);
    if ((args[0] === '-A' || args[0] === '-I') && isBuiltin(args[1])) {
      jumps.push([table, args[1]!, ...args.slice(2)]);
      continue;
    }
    if ((args[0] === '-F' || args[0] === '-X' || args[0] === '-Z') && (args[1] === undefined || isBuiltin(args[1]))) {
      continue; // never flush built-in chains or whole tables
    }
    // Chains used by -A but never declared: declare them (kube-proxy declares every chain it writes).
    if (args[0] === '-A' && args[1] && !chains.get(table)?.has(args[1])) {
      chains.get(table)?.add(args[1]);
      out.splice(declaredAt, 0, `:${args[1]} - [0:0]`);
      declaredAt++;
    }
    out.push(raw);
  }
  return { text: `${out.join('\n').trim()}\n`, jumps, chains };
}

/** kube-proxy appends (EnsureRule Append) its jumps into the chains it shares with kubelet: KUBE-FIREWALL. */
const isAppendedJump = (jump: readonly string[]): boolean => jump[jump.length - 1] === KUBE_FIREWALL && jump[jump.length - 2] === '-j';

/** The iptables backend (same options) whose apply goes kube-proxy's --noflush way. */
export function createNoflushBackend(options: IptablesBackendOptions = {}): Backend {
  const ctx = tablesContext(options);
  const inner = iptablesBackend(ctx);
  const { variant, runTool, clock, timeoutMs } = ctx;
  /** The chains the last apply declared and the jumps it ensured, per target and family: the next apply deletes those it drops. */
  const loaded = new Map<string, { chains: DeclaredChains; jumps: readonly (readonly string[])[] }>();

  const loadedKey = (target: Target, family: IPFamily) => `${targetId(target)}/${family}`;
  const applyOne = async (target: Target, plan: Plan): Promise<ApplyResult> => {
    const { restore } = iptablesTools(variant, plan.family);
    const iptables = `${plan.family === 'IPv6' ? 'ip6tables' : 'iptables'}-${variant}`;
    const t0 = clock();
    const last = loaded.get(loadedKey(target, plan.family));
    const nf = toNoflush(inner.renderText(plan), last?.chains);
    const t1 = clock();
    const before = await ctx.binding?.generation(target);
    // A jump the last apply ensured and this one does not want (KUBE-FIREWALL's, when localhost
    // NodePorts are turned off) would keep its chain busy: the restore's -X of it would fail.
    let removed = 0;
    const wanted = new Set(nf.jumps.map((j) => j.join(' ')));
    for (const [table, chain, ...rule] of last?.jumps ?? []) {
      if (wanted.has([table, chain, ...rule].join(' '))) continue;
      const del = await runTool(target, iptables, ['-w', '-t', table!, '-D', chain!, ...rule], { allowFailure: true, timeoutMs });
      if (del.code === 0) removed++;
    }
    // kube-proxy: chains first (the restore creates them), then the jumps into them.
    await runTool(target, restore, ['--noflush'], { input: nf.text, timeoutMs });
    let inserted = 0;
    // -I prepends: insert in reverse so the jumps end up in the rendered order; the jumps into
    // chains kube-proxy shares with kubelet are appended, as kube-proxy does (they come last).
    const appended = nf.jumps.filter(isAppendedJump);
    const prepended = nf.jumps.filter((j) => !isAppendedJump(j));
    for (const [op, jumps] of [['-I', [...prepended].reverse()], ['-A', appended]] as const) {
      for (const [table, chain, ...rule] of jumps) {
        const check = await runTool(target, iptables, ['-w', '-t', table!, '-C', chain!, ...rule], { allowFailure: true, timeoutMs });
        if (check.code !== 0) {
          await runTool(target, iptables, ['-w', '-t', table!, op, chain!, ...rule], { timeoutMs });
          inserted++;
        }
      }
    }
    // The generation reads are kernel round trips too: they count with the tools' time.
    await ctx.binding?.committed(target, [{ plan, digest: planDigest(plan) }], before, restoreSteps(nf.text) + inserted + removed);
    const t2 = clock();
    loaded.set(loadedKey(target, plan.family), { chains: nf.chains, jumps: nf.jumps });
    return {
      timings: { render: t1 - t0, kernel: t2 - t1 },
      size: { unit: 'lines', count: countLines(nf.text), bytes: Buffer.byteLength(nf.text) },
    };
  };

  return {
    name: 'iptables',
    variant: 'noflush',
    renderText: (plans) => familiesText(plans, (plan) => toNoflush(inner.renderText(plan)).text),
    apply: (target, plans) => applyFamilies(plans, (plan) => applyOne(target, plan)),
    sync: (target, from, to) => inner.sync(target, from, to),
    readBack: (t) => inner.readBack(t),
    verify: (t, p) => inner.verify(t, p),
    async flush(t, families = ALL_FAMILIES) {
      await inner.flush(t, families);
      for (const family of families) loaded.delete(loadedKey(t, family));
    },
    trace: (p, pk) => inner.trace(p, pk),
    traceTarget: (t, pk) => inner.traceTarget(t, pk),
  };
}
