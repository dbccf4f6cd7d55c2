/**
 * The `nftnl` backend: the nft backend's NftRuleset, encoded as libnftnl objects (encode.ts)
 * and sent by the native addon as ONE netlink batch (transport.ts). Only kpb's own
 * `kube-proxy` table of the plan's family is touched. After each commit the generation and a
 * digest of the plan are recorded (state.ts), so that `sync` can trust the kernel without
 * reading it back (drift.ts).
 */
import { fileStateStore, runSync, runTool as realRunTool, systemClock } from '@kpb/backend';
import type { ApplyResult, Backend, BackendPorts, Clock, StateStore, SyncHooks, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { diffRulesets, nftFamily, printCanon, renderCanonical, rulesetBuilder, rulesetMethods, TABLE } from '@kpb/backend-nft';
import type { NftFamily, NftLayout, NftOp, NftRuleset } from '@kpb/backend-nft';
import { NftnlEncoder } from './encode.ts';
import type { EncodeHooks } from './encode.ts';
import { listingDifferences } from './compare.ts';
import { listingToCanon } from './decode.ts';
import { planDigest, updateDigest } from './digest.ts';
import { checkGeneration } from './drift.ts';
import type { DriftContext } from './drift.ts';
import { commitRecords } from './state.ts';
import { encoders, nativeNetlink, netnsOf, sendBatch } from './transport.ts';
import type { Encoders, NetlinkPort } from './transport.ts';

const STATE_DIR = '/run/kpb/state';

interface NftnlPorts extends BackendPorts {
  /** The addon calls (the native addon by default). */
  readonly netlink?: NetlinkPort;
  /** Where the state files go (files in `stateDir` by default). */
  readonly state?: StateStore;
}

export interface NftnlBackendOptions {
  /** `flat` (default): no anonymous set per service. `kube-proxy`: kube-proxy's numgen vmaps. */
  readonly layout?: NftLayout;
  /** Directory of the state files (default `/run/kpb/state`); ignored when `ports.state` is given. */
  readonly stateDir?: string;
  /** Kill `nft` (slow-path read-back only) after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Test only: extra rules appended to chains in every batch (e.g. a jump to a missing chain). */
  readonly testHooks?: EncodeHooks;
  /** Tool runner, clock, netlink and state store (the real ones by default). */
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

async function applyFull(ctx: NftnlContext, target: Target, plan: Plan): Promise<ApplyResult> {
  const { clock } = ctx;
  const t0 = clock();
  const rs = ctx.build(plan);
  const t1 = clock();
  const buf = ctx.encoders.full(rs, false).finish();
  const t2 = clock();
  const r = await sendBatch(ctx.netlink, target, buf, () => ctx.encoders.full(rs, true).labels);
  const generation = await ctx.netlink.getGeneration(netnsOf(target));
  const t3 = clock();
  ctx.records.record(target, { layout: ctx.layout, family: rs.family, generation, digest: planDigest(plan), plan });
  const t4 = clock();
  return {
    timings: { render: t2 - t1 + r.buildMs, kernel: r.sendMs, other: t1 - t0 + (t3 - t2 - r.sendMs - r.buildMs) + (t4 - t3) },
    size: { unit: 'messages', count: r.messages },
  };
}

/** The sync hooks: generation trust (or read-back), the changed service ports' ops in one batch. */
function syncHooks(ctx: NftnlContext, target: Target): SyncHooks<readonly NftOp[]> {
  let checked: Awaited<ReturnType<typeof checkGeneration>> | undefined;
  return {
    applyFull: (to) => applyFull(ctx, target, to),
    async checkDrift(from) {
      checked = await checkGeneration(ctx, target, from);
      return checked.drift;
    },
    diff(from, to, changes) {
      // Only the changed service ports: their chains, sets and map elements, old and new.
      const diff = diffRulesets(ctx.build({ ...from, servicePorts: changes.before }), ctx.build({ ...to, servicePorts: changes.after }));
      return diff.fullReason ? { fullReason: diff.fullReason } : { update: diff.ops };
    },
    async send(ops, to, changes) {
      const { generation, fromDigest } = checked!;
      const table: Pick<NftRuleset, 'family' | 'table'> = { family: nftFamily(to), table: TABLE };
      let sent = { render: 0, kernel: 0, messages: 0 };
      if (ops.length) {
        const t0 = ctx.clock();
        const enc = ctx.encoders.forTable(table, false);
        enc.ops(ops);
        const buf = enc.finish();
        const encoding = ctx.clock() - t0;
        const r = await sendBatch(ctx.netlink, target, buf, () => {
          const labelled = ctx.encoders.forTable(table, true);
          labelled.ops(ops);
          return labelled.labels;
        });
        sent = { render: encoding + r.buildMs, kernel: r.sendMs, messages: r.messages };
      }
      const t1 = ctx.clock();
      // Our commit is generation + 1; anything else means another writer came in between
      // (recorded as is: the next sync then sees a mismatch and reads the kernel back).
      const newGeneration = ops.length ? generation + 1 : generation;
      ctx.records.record(target, { layout: ctx.layout, family: table.family, generation: newGeneration, digest: updateDigest(fromDigest, to, changes), plan: to });
      return { timings: { render: sent.render, kernel: sent.kernel, other: ctx.clock() - t1 }, size: { unit: 'messages', count: sent.messages } };
    },
  };
}

async function flushTables(ctx: NftnlContext, target: Target): Promise<void> {
  // add + delete per family in one batch: never fails when a table is absent; other tables untouched.
  const enc = new NftnlEncoder('ip', TABLE);
  const enc6 = new NftnlEncoder('ip6', TABLE, { builder: enc.b });
  enc.addTable(undefined);
  enc.deleteTable();
  enc6.addTable(undefined);
  enc6.deleteTable();
  await sendBatch(ctx.netlink, target, enc.finish(), () => [...enc.labels, ...enc6.labels]);
  ctx.records.forget(target);
}

export function createNftnlBackend(options: NftnlBackendOptions = {}): NftnlBackend {
  const layout: NftLayout = options.layout ?? 'flat';
  const ports = options.ports ?? {};
  const ctx: NftnlContext = {
    layout,
    build: rulesetBuilder({ layout }),
    records: commitRecords(ports.state ?? fileStateStore(options.stateDir ?? STATE_DIR)),
    netlink: ports.netlink ?? nativeNetlink,
    runTool: ports.runTool ?? realRunTool,
    clock: ports.clock ?? systemClock,
    timeoutMs: options.timeoutMs ?? 600_000,
    encoders: encoders(options.testHooks),
  };
  const { build } = ctx;
  const list = (target: Target, family: NftFamily) => ctx.netlink.listRuleset(netnsOf(target), family, TABLE);

  return {
    name: 'nftnl',
    variant: layout,
    build,
    encodePlan: (plan) => ctx.encoders.full(build(plan), false).finish(),
    renderCanonical: (plan) => renderCanonical(build(plan)),
    ...rulesetMethods(build, async (target, rs) => listingDifferences(await list(target, rs.family), rs)),
    recorded(target, family = 'ip') {
      const r = ctx.records.recall(target, family);
      return r && { generation: r.generation, digest: r.digest };
    },
    apply: (target, plan) => applyFull(ctx, target, plan),
    sync: (target, from, to) => runSync(syncHooks(ctx, target), from, to, ctx.clock),

    async readBack(target: Target): Promise<string> {
      const parts = await Promise.all((['ip', 'ip6'] as const).map(async (f) => printCanon(listingToCanon(await list(target, f)))));
      return parts.join('');
    },

    flush: (target) => flushTables(ctx, target),
  };
}
