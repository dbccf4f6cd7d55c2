/**
 * The iptables backend's `traceTarget`: the target's filter and nat tables saved with the
 * variant's iptables-save (as verify reads them), kpb's part of them (KUBE- chains, and the
 * built-in chains' jumps into them) walked by the same tracer as the in-memory trace, with the
 * target's own addresses.
 *
 * Rules kpb did not write are not walked: each one in a built-in chain of filter or nat, every
 * other iptables table holding rules, and every nftables table besides iptables-nft's own, is
 * named in the result's notes, since they may act on the packet too. kpb's own rules the tracer cannot follow faithfully (an interface match, which it
 * would have to guess; a module or target it does not know) make the trace refuse, naming them.
 */
import type { Target, TracePacket, TraceResult } from '@kpb/backend';
import { cannotTrace, localAddresses, noKpbRules, otherTablesNotes, packetFamily } from '@kpb/backend-nft';
import { ipFamily } from '@kpb/model';
import { BUILTIN_CHAINS, TABLES } from './names.ts';
import { holdsOwned, isOwnedRule, ownedText, parseSave, type SavedTable } from './saved.ts';
import { iptablesTools, saveText, type TablesContext } from './tables.ts';
import { parseRules, traceRules, type ParsedTables } from './trace.ts';

/** Foreign rules a note shows per chain. */
const SHOWN = 3;

/** Notes on what the trace did not walk: others' rules in filter's and nat's built-in chains, other tables with rules. */
function foreignNotes(saved: ReadonlyMap<string, SavedTable>): string[] {
  const notes: string[] = [];
  for (const t of TABLES) {
    for (const chain of BUILTIN_CHAINS[t]) {
      const foreign = saved.get(t)?.rules.filter((r) => r.chain === chain && !isOwnedRule(t, r)) ?? [];
      if (foreign.length === 0) continue;
      const more = foreign.length > SHOWN ? ` (and ${foreign.length - SHOWN} more)` : '';
      notes.push(`${t} ${chain} holds ${foreign.length} rule(s) kpb did not write, not traced: ${foreign.slice(0, SHOWN).map((r) => r.line).join(' | ')}${more}`);
    }
  }
  for (const [name, table] of saved) {
    if (!(TABLES as readonly string[]).includes(name) && table.rules.length > 0) notes.push(`table ${name} holds ${table.rules.length} rule(s), not traced`);
  }
  return notes;
}

/** kpb's rules parsed for the tracer; refuses rules it would have to guess about. */
function ownedRules(target: Target, saved: Map<string, SavedTable>): ParsedTables {
  let tables: ParsedTables;
  try {
    tables = parseRules(ownedText(saved));
  } catch (e) {
    throw cannotTrace(target, `a kpb rule kpb cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const [table, chains] of tables) {
    for (const rules of chains.values()) {
      // The tracer knows no interfaces: it would take `-i`/`-o` as never matching.
      const guessed = rules.find((r) => r.header.some((h) => h.name === '-i' || h.name === '-o'));
      if (guessed) throw cannotTrace(target, `a kpb rule matches an interface, which the tracer cannot judge: ${table} ${guessed.line}`);
    }
  }
  return tables;
}

export async function traceTablesTarget(ctx: TablesContext, target: Target, packet: TracePacket): Promise<TraceResult> {
  const family = ipFamily(packet.src) === 'IPv6' ? 'IPv6' : 'IPv4';
  const tool = iptablesTools(ctx.variant, family).save;
  const [text, nodeIPs] = await Promise.all([saveText(ctx, target, family), localAddresses(ctx.runTool, target, ctx.timeoutMs)]);
  let saved: Map<string, SavedTable>;
  try {
    saved = parseSave(text);
  } catch (e) {
    throw cannotTrace(target, e instanceof Error ? e.message : String(e));
  }
  if (!holdsOwned(saved)) throw noKpbRules(target, `${tool} lists no KUBE- chains and no jumps to them`);
  const tables = ownedRules(target, saved);
  let result: TraceResult;
  try {
    result = traceRules(tables, packet, nodeIPs);
  } catch (e) {
    throw cannotTrace(target, `${tool}: ${e instanceof Error ? e.message : String(e)}`);
  }
  // iptables-nft's tables are nftables tables too: those it saves are the ones noted above.
  const traced = ctx.variant === 'nft' ? [...saved.keys()] : [];
  const notes = [...foreignNotes(saved), ...(await otherTablesNotes(ctx.runTool, target, packetFamily(packet), ctx.timeoutMs, traced))];
  return notes.length > 0 ? { ...result, notes } : result;
}
