/**
 * Fault (a): the kernel rejects one object in the middle of a transaction. A test-only wrapper
 * around the tool runner appends a jump to a missing chain in the middle of the nat table
 * (iptables-restore input) or of the nft script; for nftnl a rule jumping to a missing chain is
 * added to one chain in the middle of the batch (the backend's test hooks). Afterwards the whole
 * packet-filter state (iptables-nft-save, iptables-legacy-save, nft list ruleset — with foreign
 * rules in all three) is byte-for-byte what it was, the error is clear, and a clean sync converges.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '@kpb/backend';
import type * as BackendModule from '@kpb/backend';
import { canUseKernel } from '@kpb/testing';
import { BACKEND_CASES, clusterPair, createNftnl, dropNamespace, makeNamespace, run, snapshot, type BackendCase, type NsTarget } from '../src/index.ts';

const inject = { on: false, faults: 0 };

vi.mock('@kpb/backend', async (importOriginal) => {
  const orig = await importOriginal<typeof BackendModule>();
  const runTool: typeof orig.runTool = (target, tool, args, options = {}) => {
    if (inject.on && options.input !== undefined) {
      let input = options.input;
      if (/-restore$/.test(tool) && !args.includes('--test')) {
        const lines = input.split('\n');
        const nat = lines.indexOf('*nat');
        const end = lines.indexOf('COMMIT', nat);
        if (nat >= 0 && end > nat) {
          lines.splice(Math.floor((nat + end + 1) / 2), 0, '-A KUBE-SERVICES -j KUBE-NO-SUCH-CHAIN');
          input = lines.join('\n');
          inject.faults++;
        }
      } else if (tool === 'nft' && args.includes('-f')) {
        const lines = input.split('\n');
        const family = /^\w+ \w+ (ip6?) kube-proxy/m.exec(input)?.[1] ?? 'ip';
        lines.splice(Math.floor(lines.length / 2), 0, `add chain ${family} kube-proxy injected-fault`, `add rule ${family} kube-proxy injected-fault jump no-such-chain`);
        input = lines.join('\n');
        inject.faults++;
      }
      return orig.runTool(target, tool, args, { ...options, input });
    }
    return orig.runTool(target, tool, args, options);
  };
  return { ...orig, runTool };
});

const pair = clusterPair(40);
const faults = new Map<string, number>();

/** The nftnl backend with a jump to a missing chain in the 3rd service chain it writes (while inject.on). */
function brokenNftnl(layout: 'flat' | 'kube-proxy', stateDir: string): Backend {
  // The same chain every time a batch is encoded (the backend encodes again to label the error).
  const order = new Map<string, number>();
  return createNftnl({
    layout,
    stateDir,
    testHooks: {
      extraRules: (chain: string) => {
        if (!inject.on || !chain.startsWith('service-')) return undefined;
        if (!order.has(chain)) order.set(chain, order.size);
        if (order.get(chain) !== 2) return undefined;
        inject.faults++;
        return [{ statements: [{ kind: 'verdict', verdict: { kind: 'jump', chain: 'no-such-chain' } }] }];
      },
    },
  });
}

/** Rules kpb does not own, in every place it could touch. */
async function addForeign(t: NsTarget): Promise<void> {
  await run(t, ['iptables-nft', '-t', 'nat', '-A', 'PREROUTING', '-s', '192.0.2.1/32', '-j', 'ACCEPT']);
  await run(t, ['iptables-nft', '-t', 'filter', '-N', 'ADMIN-IN']);
  await run(t, ['iptables-nft', '-t', 'filter', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ADMIN-IN']);
  await run(t, ['iptables-legacy', '-t', 'nat', '-A', 'OUTPUT', '-d', '192.0.2.2/32', '-j', 'RETURN']);
  await run(t, ['iptables-legacy', '-t', 'filter', '-A', 'FORWARD', '-s', '192.0.2.3/32', '-j', 'DROP']);
  await run(t, ['nft', '-f', '-'], 'table inet foreign {\n chain input { type filter hook input priority 0; policy accept; tcp dport 2222 counter accept; }\n}\n');
}

const ERROR_PATTERN: Record<BackendCase['kind'], RegExp> = {
  'iptables-nft': /iptables-nft-restore .*failed/,
  'iptables-legacy': /iptables-legacy-restore .*failed/,
  nft: /nft -f - in network namespace kpb-rob-\d+-\d+ failed.*(No such file or directory|Could not process rule)/s,
  nftnl: /No such file or directory \(ENOENT\) at rule \d+ in chain service-/,
};

describe.skipIf(!canUseKernel())('fault (a): the kernel rejects one object mid-transaction', () => {
  afterAll(() => {
    console.log(`[robustness] rejected transactions: ${[...faults].map(([k, v]) => `${k} ${v}`).join(', ')} faults injected, state byte-for-byte unchanged every time`);
  });

  for (const bc of BACKEND_CASES) {
    it.skipIf(bc.unavailable !== undefined)(`${bc.id}: apply and sync rejected → nothing changed, clear error, then converges`, async () => {
      const t = await makeNamespace();
      const stateDir = `/run/kpb/rob-state-${process.pid}-${t.name}`;
      try {
        const layout = bc.id.endsWith('kube-proxy') ? 'kube-proxy' : 'flat';
        const backend = bc.kind === 'nftnl' ? brokenNftnl(layout, stateDir) : bc.make();
        await addForeign(t);
        await backend.apply(t, pair.oldPlan);
        expect((await backend.verify(t, pair.oldPlan)).ok).toBe(true);
        const before = await snapshot(t);
        const n0 = inject.faults;

        for (const op of ['apply', 'sync'] as const) {
          inject.on = true;
          let err: Error | undefined;
          try {
            await (op === 'apply' ? backend.apply(t, pair.newPlan) : backend.sync(t, pair.oldPlan, pair.newPlan));
          } catch (e) {
            err = e as Error;
          } finally {
            inject.on = false;
          }
          expect(err, `${op} should fail`).toBeInstanceOf(Error);
          expect(err!.message, op).toMatch(ERROR_PATTERN[bc.kind]);
          expect(await snapshot(t), `${op}: state changed`).toBe(before);
          expect((await backend.verify(t, pair.oldPlan)).ok).toBe(true);
        }
        faults.set(bc.id, (faults.get(bc.id) ?? 0) + inject.faults - n0);

        // Without the fault: the sync goes through and the kernel holds NEW (and still the foreign rules).
        await backend.sync(t, pair.oldPlan, pair.newPlan);
        expect((await backend.verify(t, pair.newPlan)).differences).toEqual([]);
        const after = await snapshot(t);
        for (const foreign of ['192.0.2.1/32', 'ADMIN-IN', '192.0.2.2/32', '192.0.2.3/32', 'table inet foreign']) expect(after).toContain(foreign);
      } finally {
        await dropNamespace(t);
        rmSync(stateDir, { recursive: true, force: true });
      }
    });
  }
});
