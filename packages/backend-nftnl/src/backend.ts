/**
 * The `nftnl` backend: the nft backend's NftRuleset, encoded as libnftnl objects (encode.ts)
 * and sent by the native addon as ONE netlink batch (transport.ts). Only kpb's own
 * `kube-proxy` table of the plan's family is touched. Every batch is bound to the ruleset
 * generation read before it (the kernel refuses it if another writer committed in between), and
 * after each commit that generation + 1 and a digest of the plan are recorded (@kpb/backend's
 * generation.ts), so that `sync` can trust the kernel without reading it back (drift.ts).
 */
import { ALL_FAMILIES, commitRecords, familyPlans, fileStateStore, planDigest, runSync, runTool as realRunTool, syncFamilies, systemClock, updateDigest } from '@kpb/backend';
import type { ApplyResult, Backend, Clock, Plans, RunTool, StateStore, SyncHooks, Target } from '@kpb/backend';
import type { Plan, PlanDiff } from '@kpb/compiler';
import type { IPFamily } from '@kpb/model';
import { BatchBuilder } from '@kpb/native';
import { diffChangedServicePorts, nftFamily, printCanon, renderCanonical, rulesetBuilder, rulesetMethods, TABLE } from '@kpb/backend-nft';
import type { NftFamily, NftLayout, NftOp, NftRuleset } from '@kpb/backend-nft';
import { NftnlEncoder } from './encode.ts';
import type { EncodeHooks } from './encode.ts';
import { decodedDifferences } from './compare.ts';
import { listDecoded, tableToCanon } from './decode.ts';
import { checkGeneration } from './drift.ts';
import { traceNftnlTarget } from './trace-target.ts';
import type { DriftContext, GenerationCheck } from './drift.ts';
import { encoders, generationMoved, nativeNetlink, netnsOf, nextGeneration, sendBatch } from './transport.ts';
import type { Encoders, NetlinkPort } from './transport.ts';

interface NftnlPorts {
  readonly clock?: Clock;
  /** The addon calls (the native addon by default). */
  readonly netlink?: NetlinkPort;
  /** Where the state files go (files in `stateDir` by default). */
  readonly state?: StateStore;
  /** Tools a read-back trace runs in the target (`ip -j address show`, `nft list tables`); the real runner by default. */
  readonly runTool?: RunTool;
}

export interface NftnlBackendOptions {
  /** `flat` (default): no anonymous set per service. `kube-proxy`: kube-proxy's numgen vmaps. `maps`: common services as shared set and data-map elements (maps.ts). */
  readonly layout?: NftLayout;
  /** Directory of the state files (default `/run/kpb/state`); ignored when `ports.state` is given. */
  readonly stateDir?: string;
  /** Test only: extra rules appended to chains in every batch (e.g. a jump to a missing chain). */
  readonly testHooks?: EncodeHooks;
  /** Clock, netlink and state store (the real ones by default). */
  readonly ports?: NftnlPorts;
}

export interface NftnlBackend extends Backend {
  /** The ruleset this backend loads for a plan (the nft backend's model). */
  build(plan: Plan): NftRuleset;
  /** The op stream of a full apply (what `apply` hands to the addon). */
  encodePlan(plan: Plan): Buffer;
  /** Canonical text of what the plan loads (equal to `readBack` after `apply`). */
  renderCanonical(plan: Plan): string;
  /** What this instance recorded for a target (generation after its last commit), if anything. */
  recorded(target: Target, family?: NftFamily): { generation: number; digest: string } | undefined;
}

interface NftnlContext extends DriftContext {
  readonly encoders: Encoders;
  readonly clock: Clock;
}

/** Attempts of a full apply when other writers keep moving the generation in between. */
const FULL_ATTEMPTS = 3;

/**
 * Send a full replace bound to the generation read just before it. A full replace is right
 * whatever another writer did, so a refusal (the generation moved) is retried with the new one.
 */
async function sendFull(ctx: NftnlContext, target: Target, buf: Buffer, labels: () => readonly string[]): Promise<{ sent: Awaited<ReturnType<typeof sendBatch>>; startedAt: number }> {
  for (let attempt = 1; ; attempt++) {
    const startedAt = await ctx.netlink.getGeneration(netnsOf(target));
    try {
      return { sent: await sendBatch(ctx.netlink, target, buf, labels, startedAt), startedAt };
    } catch (e) {
      if (!generationMoved(e)) throw e;
      if (attempt >= FULL_ATTEMPTS) {
        throw new Error(`nftnl: full apply refused ${attempt} times because the ruleset generation kept moving (other writers are committing to nf_tables); last: ${e.message}`, { cause: e });
      }
    }
  }
}

/** Every family's table replaced in ONE batch: one transaction, atomic across families. */
async function applyFull(ctx: NftnlContext, target: Target, plans: Plans): Promise<ApplyResult> {
  const { clock } = ctx;
  const list = familyPlans(plans);
  const t1 = clock();
  // Built one service port at a time: no whole NftRuleset is kept for the batch (only to label a refused one).
  const streams = list.map((plan) => {
    const t0 = clock();
    const buf = ctx.encoders.full(plan, ctx.layout);
    return { family: plan.family, buf, render: clock() - t0, count: buf.readUInt32LE(8) };
  });
  const buf = streams.length === 1 ? streams[0]!.buf : BatchBuilder.join(streams.map((s) => s.buf));
  const t2 = clock();
  const { sent: r, startedAt } = await sendFull(ctx, target, buf, () => list.flatMap((plan) => ctx.encoders.labelled(ctx.build(plan)).labels));
  const t3 = clock();
  // The kernel committed our batch at `startedAt` and nothing else: the generation is one more.
  for (const plan of list) {
    ctx.records.record(target, { variant: ctx.layout, family: nftFamily(plan), generation: nextGeneration(startedAt), digest: planDigest(plan), plan }, startedAt);
  }
  const t4 = clock();
  return {
    timings: { render: t2 - t1 + r.buildMs, kernel: r.sendMs, other: t3 - t2 - r.sendMs - r.buildMs + (t4 - t3) },
    size: { unit: 'messages', count: r.messages, bytes: r.bytes },
    ...(streams.length > 1 ? { families: streams.map(({ family, render, count }) => ({ family, render, count })) } : {}),
  };
}

/** The sync hooks: generation trust (or read-back), the changed service ports' ops in one batch. */
function syncHooks(ctx: NftnlContext, target: Target): SyncHooks<readonly NftOp[]> {
  let checked: GenerationCheck | undefined;
  return {
    applyFull: (to) => applyFull(ctx, target, to),
    async checkDrift(from) {
      checked = await checkGeneration(ctx, target, from);
      return checked.drift;
    },
    diff(from, to, changes) {
      const diff = diffChangedServicePorts(ctx.build, from, to, changes);
      return diff.fullReason ? { fullReason: diff.fullReason } : { update: diff.ops };
    },
    send: (ops, to, changes) => sendUpdate(ctx, target, checked!, ops, to, changes),
  };
}

/** What sending an update did (`runSync`'s Sent). */
type Sent = Awaited<ReturnType<SyncHooks<readonly NftOp[]>['send']>>;

/**
 * Send the update bound to the generation the drift check vouched for. If another writer
 * committed since, the kernel refuses it and the sync falls back to a full apply.
 */
async function sendUpdate(ctx: NftnlContext, target: Target, checked: GenerationCheck, ops: readonly NftOp[], to: Plan, changes: PlanDiff): Promise<Sent> {
  const { generation, fromDigest } = checked;
  const table: Pick<NftRuleset, 'family' | 'table'> = { family: nftFamily(to), table: TABLE };
  let sent = { render: 0, kernel: 0, messages: 0 };
  if (ops.length) {
    const t0 = ctx.clock();
    const enc = ctx.encoders.forTable(table, false);
    enc.ops(ops);
    const buf = enc.finish();
    const encoding = ctx.clock() - t0;
    const labels = () => {
      const labelled = ctx.encoders.forTable(table, true);
      labelled.ops(ops);
      return labelled.labels;
    };
    try {
      const r = await sendBatch(ctx.netlink, target, buf, labels, generation);
      sent = { render: encoding + r.buildMs, kernel: r.sendMs, messages: r.messages };
    } catch (e) {
      if (!generationMoved(e)) throw e;
      return { failed: `the ruleset generation moved from ${generation} after the drift check (another writer committed): ${e.message}` };
    }
  }
  const t1 = ctx.clock();
  // The batch was bound to `generation`: the kernel committed it there, so ours is the next one.
  const newGeneration = ops.length ? nextGeneration(generation) : generation;
  ctx.records.record(target, { variant: ctx.layout, family: table.family, generation: newGeneration, digest: updateDigest(fromDigest, to, changes), plan: to }, generation);
  return { timings: { render: sent.render, kernel: sent.kernel, other: ctx.clock() - t1 }, size: { unit: 'messages', count: sent.messages } };
}

async function flushTables(ctx: NftnlContext, target: Target, families: readonly IPFamily[]): Promise<void> {
  // add + delete per family in one batch: never fails when a table is absent; other tables untouched.
  const b = new BatchBuilder();
  const encs = families.map((f) => new NftnlEncoder(f === 'IPv6' ? 'ip6' : 'ip', TABLE, { builder: b }));
  for (const enc of encs) {
    enc.addTable(undefined);
    enc.deleteTable();
  }
  await sendBatch(ctx.netlink, target, b.finish(), () => encs.flatMap((enc) => enc.labels));
  ctx.records.forget(target);
}

export function createNftnlBackend(options: NftnlBackendOptions = {}): NftnlBackend {
  const layout: NftLayout = options.layout ?? 'flat';
  const ports = options.ports ?? {};
  const ctx: NftnlContext = {
    layout,
    build: rulesetBuilder({ layout }),
    records: commitRecords(ports.state ?? fileStateStore(options.stateDir), 'nftnl'),
    netlink: ports.netlink ?? nativeNetlink,
    clock: ports.clock ?? systemClock,
    encoders: encoders(options.testHooks),
  };
  const { build } = ctx;
  const read = async (target: Target, family: NftFamily, decode?: { elements: false }) =>
    (await listDecoded((options) => ctx.netlink.listRuleset(netnsOf(target), family, TABLE, options), decode)).table;
  // What is compared with a ruleset: its sets' and maps' elements as listed (compare.ts).
  const readToCompare = (target: Target, family: NftFamily) => read(target, family, { elements: false });

  return {
    name: 'nftnl',
    variant: layout,
    build,
    encodePlan: (plan) => ctx.encoders.full(plan, layout),
    renderCanonical: (plan) => renderCanonical(build(plan)),
    ...rulesetMethods(build, { read: readToCompare, differences: decodedDifferences }, { layout }),
    recorded(target, family = 'ip') {
      const r = ctx.records.recall(target, family);
      return r && { generation: r.generation, digest: r.digest };
    },
    apply: (target, plans) => applyFull(ctx, target, plans),
    sync: (target, from, to) =>
      syncFamilies(from, to, (f, t) => runSync(syncHooks(ctx, target), f, t, ctx.clock), (families) => flushTables(ctx, target, families)),
    traceTarget: (target, packet) => traceNftnlTarget(ctx.netlink, ports.runTool ?? realRunTool, target, packet),

    async readBack(target: Target): Promise<string> {
      const parts = await Promise.all((['ip', 'ip6'] as const).map(async (f) => printCanon(tableToCanon(await read(target, f)))));
      return parts.join('');
    },

    flush: (target, families = ALL_FAMILIES) => flushTables(ctx, target, families),
  };
}
