/**
 * The nftnl backend's `traceTarget`: kpb's table of the packet's family listed by the addon
 * (netlink, no `nft`), decoded into the nft backend's model (decode.ts, the decoder verify
 * uses) and walked by the nft backend's tracer. A rule the decoder does not recognise as one of
 * kpb's statement sequences makes the trace refuse, naming it. The target's addresses come from
 * `ip -j address show`; the other tables from `nft list tables` when nft is there (a note says
 * so when it is not).
 */
import type { RunTool, Target, TracePacket, TraceResult } from '@kpb/backend';
import { cannotTrace, localAddresses, noKpbRules, otherTablesNotes, packetFamily, TABLE, traceReadBack } from '@kpb/backend-nft';
import type { NftRuleset } from '@kpb/backend-nft';
import { decodeTable } from './decode.ts';
import type { DecodedTable } from './decode.ts';
import { netnsOf } from './transport.ts';
import type { NetlinkPort } from './transport.ts';

/** How many rules kpb does not understand a refusal names. */
const SHOWN = 5;
/** Kill `ip` / `nft list tables` after this long (the other backends' default tool timeout). */
const TOOL_TIMEOUT_MS = 600_000;

/** The decoded table as a ruleset, or the refusal that names the rules kpb does not understand. */
function decodedRuleset(target: Target, t: DecodedTable): NftRuleset {
  const unknown: string[] = [];
  const chains = [...t.chains.values()].map(({ chain, rules }) => ({
    ...chain,
    rules: rules.flatMap((r) => {
      if (!('unknown' in r)) return [r];
      unknown.push(`chain ${chain.name}: ${r.unknown}`);
      return [];
    }),
  }));
  if (unknown.length > 0) {
    throw cannotTrace(target, `table ${t.family} ${TABLE} holds ${unknown.length} rule(s) kpb does not understand: ${unknown.slice(0, SHOWN).join('; ')}`);
  }
  const dataMaps = [...t.dataMaps.values()];
  return { family: t.family, table: TABLE, chains, sets: [...t.sets.values()], maps: [...t.maps.values()], ...(dataMaps.length > 0 ? { dataMaps } : {}) };
}

export async function traceNftnlTarget(netlink: NetlinkPort, runTool: RunTool, target: Target, packet: TracePacket): Promise<TraceResult> {
  const family = packetFamily(packet);
  const table = decodeTable(await netlink.listRuleset(netnsOf(target), family, TABLE));
  if (!table) throw noKpbRules(target, `no table ${family} ${TABLE}`);
  const rs = decodedRuleset(target, table);
  const [nodeIPs, notes] = await Promise.all([localAddresses(runTool, target, TOOL_TIMEOUT_MS), otherTablesNotes(runTool, target, family, TOOL_TIMEOUT_MS)]);
  return traceReadBack(target, rs, nodeIPs, packet, notes);
}
