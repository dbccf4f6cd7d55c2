/**
 * Faults around the kpb process, with the real CLI in child processes, every backend:
 * (b) SIGKILL at seeded random points during `apply` and `sync` → the kernel holds EXACTLY the
 *     old or EXACTLY the new ruleset, and the next `kpb sync --from OLD --to NEW` converges;
 * (c) the namespace is deleted while a sync runs → a clear error naming it, no crash, no
 *     leftover processes;
 * (d) two `kpb sync` on one namespace at once → serialized by the lock (both succeed, the last
 *     one's target is what the kernel holds), or a clear refusal with `--lock-wait 0`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockTarget } from '@kpb/backend';
import { canUseKernel, execHost } from '@kpb/testing';
import { mulberry32 } from '@kpb/model';
import {
  CORE_CASES, clusterPair, dropNamespace, fuzzSeed, kpb, makeNamespace, pidsIn, scaled, SETTINGS_FLAGS, STACK_TRACE, startKpb, writePair,
  type BackendCase, type NsTarget,
} from '../src/index.ts';

const SERVICES = 300;
const KILLS = scaled(2, 2500); // per backend and command
const pair = clusterPair(SERVICES);
const dir = mkdtempSync(join(tmpdir(), 'kpb-rob-proc-'));
const files = writePair(pair, dir);
const figures: string[] = [];

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  console.log(`[robustness] process faults:\n  ${figures.join('\n  ')}`);
});

/** Waits (bounded) until no process is left inside the namespace; returns how many were seen. */
async function waitEmpty(name: string, ms = 60_000): Promise<number> {
  const first = (await pidsIn(name)).length;
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if ((await pidsIn(name)).length === 0) return first;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`processes still running in ${name} after ${ms} ms: ${(await pidsIn(name)).join(' ')}`);
}

/** Processes anywhere whose command line names the namespace (leftovers of a dead kpb). */
function processesNaming(name: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x)).slice(0, 100_000)) {
    try {
      if (Number(d) !== process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(name)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const common = (bc: BackendCase, t: NsTarget) => [...bc.cliArgs, ...SETTINGS_FLAGS, '--netns', t.name];

describe.skipIf(!canUseKernel())('faults around the kpb process (real CLI, real kernel)', () => {
  for (const bc of CORE_CASES) {
    describe.skipIf(bc.unavailable !== undefined)(`${bc.id}${bc.unavailable ? ` (skipped: ${bc.unavailable})` : ''}`, () => {
      let t: NsTarget;
      let oldText = '';
      let newText = '';
      const backend = bc.unavailable ? undefined : bc.make();
      beforeAll(async () => {
        t = await makeNamespace();
        await backend!.apply(t, pair.newPlan);
        newText = await backend!.readBack(t);
        await backend!.apply(t, pair.oldPlan);
        oldText = await backend!.readBack(t);
        expect(oldText).not.toBe(newText);
      });
      afterAll(async () => {
        await dropNamespace(t);
      });

      it(`(b) SIGKILL during apply and sync (${KILLS} each, seeded): exactly OLD or exactly NEW, then converges`, async () => {
        // How long does a whole run take here? Kills land in [40 %, 110 %] of it (tsx start-up first).
        const probe = await kpb(['apply', ...common(bc, t), '--input', files.new]);
        expect(probe.code, probe.stderr).toBe(0);
        const duration = probe.ms;
        const rand = mulberry32(fuzzSeed(4242) + bc.id.length);
        const outcomes = { old: 0, new: 0, orphans: 0, finished: 0 };
        for (const command of ['apply', 'sync'] as const) {
          for (let i = 0; i < KILLS; i++) {
            await backend!.apply(t, pair.oldPlan);
            const args = command === 'apply' ? ['apply', ...common(bc, t), '--input', files.new] : ['sync', ...common(bc, t), '--from', files.old, '--to', files.new];
            const p = startKpb(args);
            const delay = duration * (0.4 + 0.7 * rand());
            const timer = setTimeout(() => process.kill(p.pid, 'SIGKILL'), delay);
            const r = await p.done;
            clearTimeout(timer);
            if (r.signal !== 'SIGKILL') outcomes.finished++;
            else expect(r.stderr).not.toMatch(STACK_TRACE);
            outcomes.orphans += await waitEmpty(t.name);
            const now = await backend!.readBack(t);
            const which = now === oldText ? 'old' : now === newText ? 'new' : 'mixed';
            expect(which, `${command} killed after ${delay.toFixed(0)} ms: the kernel holds neither OLD nor NEW`).not.toBe('mixed');
            outcomes[which as 'old' | 'new']++;
            // The next sync converges (in-process between kills; through the CLI after the last one).
            if (command === 'apply' || i < KILLS - 1) {
              await backend!.sync(t, pair.oldPlan, pair.newPlan);
              expect((await backend!.verify(t, pair.newPlan)).differences).toEqual([]);
            }
          }
        }
        // After the last kill: the next `kpb sync --from OLD --to NEW` converges, `kpb verify` says so.
        const s = await kpb(['sync', ...common(bc, t), '--from', files.old, '--to', files.new]);
        expect(s.code, s.stderr).toBe(0);
        const v = await kpb(['verify', ...common(bc, t), '--input', files.new]);
        expect(v.code, v.stdout + v.stderr).toBe(0);
        figures.push(
          `${bc.id}: ${2 * KILLS} SIGKILLs (apply+sync) → ${outcomes.old} OLD, ${outcomes.new} NEW, 0 mixed; ${outcomes.finished} had finished before the kill; ${outcomes.orphans} orphaned tool processes finished on their own`,
        );
      });

      it('(c) the namespace is deleted during a sync: clear error naming it, no crash, no leftovers', async () => {
        const scratch = await makeNamespace();
        let deleted = false;
        try {
          await backend!.apply(scratch, pair.oldPlan);
          const p = startKpb(['sync', ...common(bc, scratch), '--to', files.new]);
          // Delete it while kpb works: after start-up, as soon as kpb has a child inside (or a bound).
          const until = performance.now() + 20_000;
          const earliest = performance.now() + (bc.kind === 'nftnl' ? 1500 : 0);
          while (performance.now() < until && (bc.kind === 'nftnl' ? performance.now() < earliest : (await pidsIn(scratch.name)).length === 0) && p.child.exitCode === null) {
            await new Promise((r) => setTimeout(r, 20));
          }
          await execHost(['ip', 'netns', 'del', scratch.name]);
          deleted = true;
          const r = await p.done;
          expect(r.signal).toBeNull();
          expect(r.stderr).not.toMatch(STACK_TRACE);
          if (r.code !== 0) {
            expect([1, 2]).toContain(r.code);
            expect(r.stderr, r.stderr).toContain(scratch.name);
          }
          figures.push(`${bc.id}: namespace deleted during sync → exit ${r.code}: ${r.stderr.trim().split('\n')[0]?.slice(0, 160) ?? ''}`);
          // Nothing left behind: no process names the namespace a moment later.
          const until2 = performance.now() + 10_000;
          while (performance.now() < until2 && processesNaming(scratch.name).length > 0) await new Promise((r) => setTimeout(r, 100));
          expect(processesNaming(scratch.name)).toEqual([]);
        } finally {
          if (!deleted) await dropNamespace(scratch);
        }
      });

      it('(d) two syncs at once are serialized by the lock; --lock-wait 0 refuses clearly', async () => {
        await backend!.apply(t, pair.oldPlan);
        const a = startKpb(['sync', ...common(bc, t), '--from', files.old, '--to', files.new]);
        const b = startKpb(['sync', ...common(bc, t), '--from', files.new, '--to', files.old]);
        const ends: string[] = [];
        const [ra, rb] = await Promise.all([
          a.done.then((r) => (ends.push('a'), r)),
          b.done.then((r) => (ends.push('b'), r)),
        ]);
        expect(ra.code, ra.stderr).toBe(0);
        expect(rb.code, rb.stderr).toBe(0);
        const last = ends[1] === 'a' ? files.new : files.old;
        const v = await kpb(['verify', ...common(bc, t), '--input', last]);
        expect(v.code, v.stdout).toBe(0);

        // Someone holds the lock: --lock-wait 0 gives up at once, clearly, and changes nothing.
        const before = await backend!.readBack(t);
        const lock = await lockTarget(t, 5);
        try {
          const r = await kpb(['sync', ...common(bc, t), '--to', files.new, '--lock-wait', '0']);
          expect(r.code).toBe(1);
          expect(r.stderr).toMatch(new RegExp(`another kpb is working on network namespace ${t.name}`));
          expect(r.stderr).not.toMatch(STACK_TRACE);
        } finally {
          await lock.release();
        }
        expect(await backend!.readBack(t)).toBe(before);
        figures.push(`${bc.id}: 2 concurrent syncs serialized (${ends.join(' then ')}), final = last one's target, verify 0; --lock-wait 0 refused`);
      });
    });
  }
});

// Not a test: make sure `ip netns exec` is there before the kernel tests (clear failure otherwise).
if (canUseKernel()) execFileSync('ip', ['netns', 'list']);
