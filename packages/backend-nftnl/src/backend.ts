/**
 * The `nftnl` backend: the nft backend's NftRuleset, encoded as libnftnl objects (encode.ts)
 * and sent by the native addon as ONE netlink batch. Only kpb's own `kube-proxy` table of the
 * plan's family is touched.
 *
 * Drift detection without reading the kernel: after each commit the ruleset generation
 * (NFT_MSG_GETGEN) and a digest of the applied plan are recorded, in the instance and in
 * `/run/kpb/state/nftnl-<netns>.json`. `sync` trusts the kernel only when the generation is
 * still the recorded one and `from` is the recorded plan; otherwise it reads the table back
 * (`nft list table`), compares it with `from`, and falls back to a full apply if they differ.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { runTool } from '@kpb/backend';
import type { ApplyResult, Backend, SyncResult, Target, TracePacket, TraceResult, VerifyResult } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import {
  buildRuleset,
  canonicalizeListing,
  canonicalObjects,
  checkReferences,
  compareCanon,
  diffRulesets,
  parseCanon,
  printCanon,
  renderCanonical,
  renderScript,
  traceRuleset,
} from '@kpb/backend-nft';
import type { NftFamily, NftLayout, NftRuleset } from '@kpb/backend-nft';
import { applyBatch, getGeneration, listRuleset } from '@kpb/native';
import type { NetlinkError } from '@kpb/native';
import { estimateBytes, NftnlEncoder } from './encode.ts';
import type { EncodeHooks } from './encode.ts';
import { listingToCanon } from './decode.ts';
import { digestText, fastDiffPlans, planDigest, settingsChanged, updateDigest } from './plan-diff.ts';
import type { PlanDigest } from './plan-diff.ts';

export interface NftnlBackendOptions {
  /** `flat` (default): no anonymous set per service. `kube-proxy`: kube-proxy's numgen vmaps. */
  readonly layout?: NftLayout;
  /** Directory of the state files (default `/run/kpb/state`). */
  readonly stateDir?: string;
  /** Kill `nft` (slow-path read-back only) after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Test only: extra rules appended to chains in every batch (e.g. a jump to a missing chain). */
  readonly testHooks?: EncodeHooks;
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

export const TABLE = 'kube-proxy';
export const STATE_DIR = '/run/kpb/state';

interface Record_ {
  readonly layout: NftLayout;
  readonly family: NftFamily;
  readonly generation: number;
  readonly digest: PlanDigest;
  /** The plan object applied last (in this process). */
  readonly plan?: Plan;
}

interface StateFile {
  readonly version: 1;
  readonly layout: NftLayout;
  readonly family: NftFamily;
  readonly generation: number;
  readonly digest: string;
}

const netnsOf = (target: Target): string | null => (target.kind === 'netns' ? target.name : null);
const targetKey = (target: Target): string => (target.kind === 'netns' ? `netns-${target.name}` : 'host');

/** Makes the addon's error name the failing object: `op N` → the op's readable label. */
function relabel(e: unknown, labels: () => readonly string[]): Error {
  const err = e as NetlinkError;
  if (!(err instanceof Error)) return new Error(String(e));
  const m = /^op (\d+)(.*)$/.exec(err.label ?? '');
  if (!m) return err;
  const label = labels()[Number(m[1])];
  if (label === undefined) return err;
  const full = `${label}${m[2]}`;
  const out = new Error(err.message.replace(`at ${err.label}`, `at ${full}`), { cause: err }) as NetlinkError;
  out.name = 'NetlinkError';
  out.errno = err.errno;
  out.label = full;
  return out;
}

export function createNftnlBackend(options: NftnlBackendOptions = {}): NftnlBackend {
  const layout: NftLayout = options.layout ?? 'flat';
  const stateDir = options.stateDir ?? STATE_DIR;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const hooks = options.testHooks;
  const cache = new WeakMap<Plan, NftRuleset>();
  const records = new Map<string, Record_>();

  const build = (plan: Plan): NftRuleset => {
    let rs = cache.get(plan);
    if (!rs) {
      rs = buildRuleset(plan, { layout });
      const problems = checkReferences(rs);
      if (problems.length) throw new Error(`nft ruleset refers to missing objects: ${problems.slice(0, 5).join('; ')}`);
      cache.set(plan, rs);
    }
    return rs;
  };

  const encoder = (rs: Pick<NftRuleset, 'family' | 'table'>, labels: boolean, initialBytes?: number) =>
    new NftnlEncoder(rs.family, rs.table, { labels, ...(initialBytes !== undefined ? { initialBytes } : {}), ...(hooks ? { hooks } : {}) });

  const encodeFull = (rs: NftRuleset, labels: boolean): NftnlEncoder => {
    const enc = encoder(rs, labels, labels ? undefined : estimateBytes(rs));
    enc.replace(rs);
    return enc;
  };

  // ---- recorded state ----------------------------------------------------------------------------

  const statePath = (target: Target) => `${stateDir}/nftnl-${target.kind === 'netns' ? target.name : 'host'}.json`;

  const record = (target: Target, r: Record_): void => {
    records.set(`${targetKey(target)}/${r.family}`, r);
    const file: StateFile = { version: 1, layout: r.layout, family: r.family, generation: r.generation, digest: digestText(r.digest) };
    try {
      mkdirSync(stateDir, { recursive: true });
      const path = statePath(target);
      writeFileSync(`${path}.tmp`, `${JSON.stringify(file)}\n`);
      renameSync(`${path}.tmp`, path);
    } catch {
      /* the state file is an optimisation: without it the next process reads the kernel back */
    }
  };

  const forget = (target: Target): void => {
    for (const f of ['ip', 'ip6']) records.delete(`${targetKey(target)}/${f}`);
    try {
      writeFileSync(statePath(target), `${JSON.stringify({ version: 1, forgotten: true })}\n`);
    } catch {
      /* nothing recorded */
    }
  };

  /** Recorded generation and digest text of the target: this instance first, then the state file. */
  const recall = (target: Target, family: NftFamily): { generation: number; digest: string; layout: NftLayout; plan?: Plan } | undefined => {
    const r = records.get(`${targetKey(target)}/${family}`);
    if (r) return { generation: r.generation, digest: digestText(r.digest), layout: r.layout, ...(r.plan ? { plan: r.plan } : {}) };
    try {
      const f = JSON.parse(readFileSync(statePath(target), 'utf8')) as Partial<StateFile>;
      if (f.version === 1 && f.family === family && typeof f.generation === 'number' && typeof f.digest === 'string' && f.layout) {
        return { generation: f.generation, digest: f.digest, layout: f.layout };
      }
    } catch {
      /* no state file */
    }
    return undefined;
  };

  // ---- kernel ----------------------------------------------------------------------------------

  const send = async (target: Target, buf: Buffer, labels: () => readonly string[]) => {
    try {
      return await applyBatch(netnsOf(target), buf);
    } catch (e) {
      throw relabel(e, labels);
    }
  };

  const listTable = async (target: Target, family: NftFamily): Promise<string> => {
    const r = await runTool(target, 'nft', ['list', 'table', family, TABLE], { timeoutMs, allowFailure: true });
    if (r.code === 0) return r.stdout;
    if (/No such file or directory/.test(r.stderr)) return '';
    throw new Error(`nft list table ${family} ${TABLE} failed: ${r.stderr.trim()}`);
  };

  const applyFull = async (target: Target, plan: Plan): Promise<ApplyResult> => {
    const t0 = performance.now();
    const rs = build(plan);
    const t1 = performance.now();
    const enc = encodeFull(rs, false);
    const buf = enc.finish();
    const t2 = performance.now();
    const r = await send(target, buf, () => encodeFull(rs, true).labels);
    const generation = await getGeneration(netnsOf(target));
    const t3 = performance.now();
    record(target, { layout, family: rs.family, generation, digest: planDigest(plan), plan });
    const t4 = performance.now();
    return {
      timings: { render: t2 - t1 + r.buildMs, kernel: r.sendMs, other: t1 - t0 + (t3 - t2 - r.sendMs - r.buildMs) + (t4 - t3) },
      size: { unit: 'messages', count: r.messages },
    };
  };

  const backend: NftnlBackend = {
    name: 'nftnl',
    variant: layout,
    build,
    encodePlan: (plan) => encodeFull(build(plan), false).finish(),
    renderCanonical: (plan) => renderCanonical(build(plan)),
    renderText: (plan) => renderScript(build(plan)),
    recorded(target, family = 'ip') {
      const r = recall(target, family);
      return r && { generation: r.generation, digest: r.digest };
    },

    apply: (target, plan) => applyFull(target, plan),

    async sync(target: Target, from: Plan | undefined, to: Plan): Promise<SyncResult> {
      const full = async (reason: string): Promise<SyncResult> => {
        const r = await applyFull(target, to);
        return { ...r, mode: 'full', reason, changedServicePorts: to.servicePorts.map((sp) => sp.key) };
      };
      if (!from) return full('nothing known about the kernel (no previous plan)');
      if (settingsChanged(from, to)) return full('node settings, node IPs or family changed');
      const t0 = performance.now();
      const family: NftFamily = to.family === 'IPv6' ? 'ip6' : 'ip';
      const ns = netnsOf(target);

      // Drift check: the generation and the plan recorded after our last commit.
      const rec = recall(target, family);
      const generation = await getGeneration(ns);
      let trusted = false;
      let why = '';
      if (!rec) why = 'no record of a previous commit';
      else if (rec.layout !== layout) why = `the kernel was loaded with layout ${rec.layout}`;
      else if (rec.generation !== generation) why = `ruleset generation ${generation}, recorded ${rec.generation}`;
      else if (rec.plan !== from && rec.digest !== digestText(planDigest(from))) why = 'the recorded plan is not --from';
      else trusted = true;
      let note: string | undefined;
      if (!trusted) {
        // Slow path: does the kernel hold `from` anyway?
        const before = build(from);
        const kernel = canonicalizeListing(await listTable(target, family));
        if (kernel !== renderCanonical(before)) {
          const diffs = compareCanon(canonicalObjects(before), parseCanon(kernel));
          const first = diffs[0];
          return full(`drift (${why}): the kernel does not hold the previous plan (${diffs.length} difference(s)${first ? `, first: ${first.kind} ${first.object}` : ''})`);
        }
        note = why;
      }
      const fromDigest = rec && trusted && rec.plan === from ? planDigests(from, rec) : planDigest(from);

      const changes = fastDiffPlans(from, to);
      const t1 = performance.now();
      const changedServicePorts = [...changes.added, ...changes.changed, ...changes.removed];
      // Only the changed service ports: their chains, sets and map elements, old and new.
      const diff = diffRulesets(build({ ...from, servicePorts: changes.before }), build({ ...to, servicePorts: changes.after }));
      if (diff.fullReason) return full(diff.fullReason);
      let messages = 0;
      let render = performance.now() - t1;
      let kernel = 0;
      let newGeneration = generation;
      if (diff.ops.length) {
        const t2 = performance.now();
        const enc = encoder({ family, table: TABLE }, false);
        enc.ops(diff.ops);
        const buf = enc.finish();
        render += performance.now() - t2;
        const r = await send(target, buf, () => {
          const e = encoder({ family, table: TABLE }, true);
          e.ops(diff.ops);
          return e.labels;
        });
        render += r.buildMs;
        kernel = r.sendMs;
        messages = r.messages;
        // Our commit is generation + 1; anything else means another writer came in between
        // (recorded as is: the next sync then sees a mismatch and reads the kernel back).
        newGeneration = generation + 1;
      }
      const t3 = performance.now();
      record(target, { layout, family, generation: newGeneration, digest: updateDigest(fromDigest, to, changes), plan: to });
      const other = t1 - t0 + (performance.now() - t3);
      return {
        mode: 'incremental',
        ...(note ? { reason: `kernel read back and found to hold --from (${note})` } : {}),
        timings: { render, kernel, other },
        size: { unit: 'messages', count: messages },
        changedServicePorts,
      };
    },

    async readBack(target: Target): Promise<string> {
      const ns = netnsOf(target);
      const parts = await Promise.all((['ip', 'ip6'] as const).map(async (f) => printCanon(listingToCanon(await listRuleset(ns, f, TABLE)))));
      return parts.join('');
    },

    async verify(target: Target, plan: Plan): Promise<VerifyResult> {
      const rs = build(plan);
      const found = listingToCanon(await listRuleset(netnsOf(target), rs.family, TABLE));
      const differences = compareCanon(canonicalObjects(rs), found);
      return { ok: differences.length === 0, differences };
    },

    async flush(target: Target): Promise<void> {
      // add + delete per family in one batch: never fails when a table is absent; other tables untouched.
      const enc = new NftnlEncoder('ip', TABLE);
      const enc6 = new NftnlEncoder('ip6', TABLE, { builder: enc.b });
      enc.addTable(undefined);
      enc.deleteTable();
      enc6.addTable(undefined);
      enc6.deleteTable();
      await send(target, enc.finish(), () => [...enc.labels, ...enc6.labels]);
      forget(target);
    },

    trace(plan: Plan, packet: TracePacket): TraceResult {
      return traceRuleset(build(plan), { nodeIPs: plan.nodeIPs }, packet);
    },
  };
  return backend;
}

/** The digest recorded for the plan object applied last (avoids hashing `from` again). */
function planDigests(_from: Plan, rec: { digest: string }): PlanDigest {
  const [head, sum] = rec.digest.split(':') as [string, string];
  return { head, sum: BigInt(`0x${sum}`) };
}
