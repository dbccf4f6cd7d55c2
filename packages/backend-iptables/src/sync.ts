/**
 * kube-proxy's partial sync (KEP-3453) as iptables-restore --noflush input: the top-level chains
 * in full, the chains of added and changed service ports in full, stale chains declared (which
 * flushes them) and then deleted.
 */
import type { PlanChanges } from '@kpb/compiler';
import { TOP_LEVEL_CHAINS } from './names.ts';
import type { RenderedRuleset } from './render.ts';

export interface PartialInput {
  readonly text: string;
  readonly lines: number;
  /** nat chains deleted. */
  readonly stale: readonly string[];
  /** Service port keys whose chains were written. */
  readonly written: readonly string[];
}

export function partialRestoreInput(from: RenderedRuleset, to: RenderedRuleset, changes: PlanChanges): PartialInput {
  const out: string[] = [];
  // filter: only top-level chains exist there; write them all.
  out.push('*filter');
  for (const chain of TOP_LEVEL_CHAINS.filter) out.push(':' + chain + ' - [0:0]');
  for (const chain of TOP_LEVEL_CHAINS.filter) for (const r of to.filter.rules.get(chain) ?? []) out.push(r);
  out.push('COMMIT');

  out.push('*nat');
  const write: string[] = [...TOP_LEVEL_CHAINS.nat];
  const written: string[] = [];
  for (const key of [...changes.added, ...changes.changed]) {
    const chains = to.servicePortChains.get(key);
    if (!chains) continue;
    written.push(key);
    for (const c of chains) write.push(c);
  }
  // Stale: chains the old plan's changed/removed service ports had that the new plan has nowhere.
  const stale: string[] = [];
  const candidates: string[] = [];
  for (const key of [...changes.changed, ...changes.removed]) {
    const chains = from.servicePortChains.get(key);
    if (chains) for (const c of chains) candidates.push(c);
  }
  if (candidates.length > 0) {
    const wanted = new Set(to.nat.chains);
    for (const c of candidates) if (!wanted.has(c)) stale.push(c);
  }
  for (const c of write) out.push(':' + c + ' - [0:0]');
  // Declaring a chain with --noflush flushes it, so every reference out of a stale chain is gone
  // before the -X lines below; references into it came only from chains rewritten here.
  for (const c of stale) out.push(':' + c + ' - [0:0]');
  for (const c of write) for (const r of to.nat.rules.get(c) ?? []) out.push(r);
  for (const c of stale) out.push('-X ' + c);
  out.push('COMMIT');
  return { text: out.join('\n') + '\n', lines: out.length, stale, written };
}
