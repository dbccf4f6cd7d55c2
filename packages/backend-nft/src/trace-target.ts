/**
 * Tracing the rules a target holds, read back (nothing is changed): what every backend's
 * `traceTarget` shares (the target's own addresses, the words for "nothing to trace" and "cannot
 * trace", the other nftables tables that may act on the packet too), and the nft backend's own:
 * kpb's table read with `nft -j list table` + `nft list table` (json-listing.ts) and walked by
 * the same tracer as the in-memory trace.
 */
import { describeTarget } from '@kpb/backend';
import type { RunTool, Target, TracePacket, TraceResult } from '@kpb/backend';
import { NotUnderstood, rulesetFromListings } from './json-listing.ts';
import type { NftFamily, NftRuleset } from './ruleset.ts';
import { listTable, TABLE } from './table.ts';
import { traceRuleset } from './trace.ts';

/** The nftables family of a packet's addresses. */
export const packetFamily = (packet: TracePacket): NftFamily => (packet.src.includes(':') ? 'ip6' : 'ip');

/** The target holds nothing of kpb's to trace. */
export const noKpbRules = (target: Target, why: string): Error => new Error(`no kpb rules in ${describeTarget(target)} (${why})`);

/** The target holds kpb rules that kpb cannot read or follow: say which, never guess. */
export const cannotTrace = (target: Target, why: string): Error => new Error(`cannot trace ${describeTarget(target)}: ${why}`);

/** The target's own addresses (`ip -j address show` inside it): what the rules take as local. */
export async function localAddresses(runTool: RunTool, target: Target, timeoutMs: number): Promise<string[]> {
  const { stdout } = await runTool(target, 'ip', ['-j', 'address', 'show'], { timeoutMs });
  const links = JSON.parse(stdout) as unknown;
  if (!Array.isArray(links)) throw new Error(`ip -j address show in ${describeTarget(target)} printed no list of links`);
  const out: string[] = [];
  for (const link of links as { addr_info?: { local?: unknown }[] }[]) {
    for (const a of link.addr_info ?? []) if (typeof a.local === 'string') out.push(a.local);
  }
  return out;
}

/**
 * Notes on the nftables tables of the packet's family (and `inet`) besides `traced` (of that
 * family; kpb's table by default): the trace does not follow them, and they may act on the packet too.
 */
export async function otherTablesNotes(runTool: RunTool, target: Target, family: NftFamily, timeoutMs: number, traced: readonly string[] = [TABLE]): Promise<string[]> {
  let listed: string;
  try {
    const r = await runTool(target, 'nft', ['list', 'tables'], { timeoutMs, allowFailure: true });
    if (r.code !== 0) return [`could not list the other nftables tables: ${r.stderr.trim()}`];
    listed = r.stdout;
  } catch (e) {
    return [`could not list the other nftables tables: ${e instanceof Error ? e.message : String(e)}`];
  }
  const others = listed
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0] === 'table' && (w[1] === family || w[1] === 'inet') && !(w[1] === family && traced.includes(w[2]!)))
    .map((w) => `${w[1]} ${w[2]}`);
  return others.length === 0 ? [] : [`other nftables tables may act on this packet too and were not traced: ${others.join(', ')}`];
}

/** Walk `packet` through `rs` read from `target`; the tracer's own refusals say they are about that target. */
export function traceReadBack(target: Target, rs: NftRuleset, nodeIPs: readonly string[], packet: TracePacket, notes: readonly string[]): TraceResult {
  if (!rs.chains.some((c) => c.base !== undefined)) throw noKpbRules(target, `table ${rs.family} ${TABLE} has no base chains`);
  let result: TraceResult;
  try {
    result = traceRuleset(rs, { nodeIPs }, packet);
  } catch (e) {
    throw cannotTrace(target, `table ${rs.family} ${TABLE}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return notes.length > 0 ? { ...result, notes } : result;
}

/**
 * The nft backend's `traceTarget`: kpb's table of the packet's family listed twice (JSON for the
 * model, text to check that the model reads as what nft printed), then walked.
 */
export async function traceNftTarget(runTool: RunTool, target: Target, packet: TracePacket, timeoutMs: number): Promise<TraceResult> {
  const family = packetFamily(packet);
  const text = await listTable(runTool, target, family, timeoutMs);
  if (text === '') throw noKpbRules(target, `no table ${family} ${TABLE}`);
  const json = await runTool(target, 'nft', ['-j', 'list', 'table', family, TABLE], { timeoutMs });
  let rs: NftRuleset;
  try {
    rs = rulesetFromListings(json.stdout, text, family);
  } catch (e) {
    if (!(e instanceof NotUnderstood)) throw e;
    throw cannotTrace(target, `table ${family} ${TABLE} holds what kpb does not understand: ${e.message}`);
  }
  const [nodeIPs, notes] = await Promise.all([localAddresses(runTool, target, timeoutMs), otherTablesNotes(runTool, target, family, timeoutMs)]);
  return traceReadBack(target, rs, nodeIPs, packet, notes);
}
