/**
 * The --noflush apply through its ports (no root): a fake runTool records the calls, a fake
 * clock gives the timings. The kernel test (noflush.test.ts) checks what the calls leave behind.
 */
import { describe, expect, it } from 'vitest';
import type { RunTool, Target, ToolResult } from '@kpb/backend';
import { createNoflushBackend } from '../src/index.ts';
import { mixCluster, planOf } from './fixtures.ts';

const target: Target = { kind: 'netns', name: 'kpb-fake-1' };

function fakeTools() {
  const calls: { shown: string; options: NonNullable<Parameters<RunTool>[3]> }[] = [];
  const runTool: RunTool = async (_t, tool, args, options = {}): Promise<ToolResult> => {
    calls.push({ shown: [tool, ...args].join(' '), options });
    // `-C`: the jump is not there yet, so the backend inserts it.
    return { code: args.includes('-C') ? 1 : 0, stdout: '', stderr: '' };
  };
  let now = 0;
  return { calls, runTool, clock: () => (now += 5) };
}

describe('iptables --noflush apply through its ports', () => {
  for (const [family, base] of [
    ['IPv4', 'iptables'],
    ['IPv6', 'ip6tables'],
  ] as const) {
    it(`runs ${base}-nft tools through the runTool port, with the timeout, for an ${family} plan`, async () => {
      const fake = fakeTools();
      const backend = createNoflushBackend({ variant: 'nft', timeoutMs: 1234, ports: { runTool: fake.runTool, clock: fake.clock } });
      const plan = { ...planOf(mixCluster()), family };
      const result = await backend.apply(target, plan);

      const tools = fake.calls.map((c) => c.shown.split(' ')[0]);
      expect(tools[0]).toBe(`${base}-nft-restore`);
      expect(fake.calls[0]!.shown).toBe(`${base}-nft-restore --noflush`);
      expect(fake.calls[0]!.options.input).toBe(backend.renderText(plan));
      expect(new Set(tools.slice(1))).toEqual(new Set([`${base}-nft`]));
      expect(fake.calls.some((c) => c.shown.includes(' -C '))).toBe(true);
      expect(fake.calls.some((c) => c.shown.includes(' -I '))).toBe(true);
      expect(fake.calls.every((c) => c.options.timeoutMs === 1234)).toBe(true);
      // The fake clock ticks 5 ms per reading: render is one tick, the kernel calls the next.
      expect(result.timings).toEqual({ render: 5, kernel: 5 });
    });
  }
});
