/**
 * Kernel helpers: throwaway namespaces (`kpb-rob-<pid>-<n>`, from @kpb/testing), the complete
 * packet-filter state of a namespace, and running tools in it.
 */
import { createNamespace, deleteNamespace, execIn } from '@kpb/testing';
import type { Target } from '@kpb/backend';

export type NsTarget = Target & { readonly kind: 'netns' };

/** A fresh namespace `kpb-rob-<pid>-<n>`. */
export async function makeNamespace(): Promise<NsTarget> {
  return { kind: 'netns', name: await createNamespace('rob') };
}

export async function dropNamespace(t: NsTarget | undefined): Promise<void> {
  if (t) await deleteNamespace(t.name);
}

/** Create a namespace, run fn, always delete it (also on failure). */
export async function inNamespace<T>(fn: (t: NsTarget) => Promise<T>): Promise<T> {
  const t = await makeNamespace();
  try {
    return await fn(t);
  } finally {
    await dropNamespace(t);
  }
}

export async function run(t: NsTarget, argv: readonly string[], input?: string, timeoutMs = 120_000): Promise<string> {
  const r = await execIn(t.name, argv, { timeoutMs, ...(input !== undefined ? { input } : {}) });
  return r.stdout;
}

const withoutComments = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

/**
 * `nft list ruleset` with its tables in name order: the listing order of tables is their creation
 * order, which changes when a tool replaces a table with identical content (iptables-restore
 * without --noflush deletes and re-creates `ip filter`); likewise the chains, sets and maps of a
 * table. Rules and elements inside them are kept as they are.
 */
function tablesSorted(listing: string): string {
  const blocks = listing.split(/\n(?=table )/).map((b) => b.trimEnd());
  return blocks.filter(Boolean).map(chainsSorted).sort().join('\n') + '\n';
}

/** Chains of one table in name order (their listing order is creation order too). */
function chainsSorted(table: string): string {
  const lines = table.split('\n');
  const head = lines[0]!;
  const body = lines.slice(1, -1).join('\n');
  const parts = body.split(/\n(?=\t(?:chain|set|map) )/).map((p) => p.replace(/\n+$/, ''));
  return [head, ...parts.sort(), lines[lines.length - 1]].join('\n');
}

/**
 * Everything the namespace's packet filter holds, from every angle kpb could have touched:
 * `iptables-nft-save` and `iptables-legacy-save` (minus `#` lines: they carry a timestamp) and
 * `nft list ruleset` (tables sorted, see tablesSorted). Byte-for-byte comparison of two snapshots = nothing changed.
 */
export async function snapshot(t: NsTarget): Promise<string> {
  const [ipt, legacy, nft] = await Promise.all([
    run(t, ['iptables-nft-save']),
    run(t, ['iptables-legacy-save']),
    run(t, ['nft', 'list', 'ruleset']),
  ]);
  return `== iptables-nft-save\n${withoutComments(ipt)}\n== iptables-legacy-save\n${withoutComments(legacy)}\n== nft list ruleset\n${tablesSorted(nft)}`;
}

/** Process ids inside the namespace (`ip netns pids`). */
export async function pidsIn(name: string): Promise<number[]> {
  const { execHost } = await import('@kpb/testing');
  const r = await execHost(['ip', 'netns', 'pids', name], { allowFailure: true, timeoutMs: 10_000 });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}
