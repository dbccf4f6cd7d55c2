/**
 * Hostile input through the real `kpb` binary (slow: a few cases): exit code 2, one clear
 * message on stderr, never a stack trace, nothing on stdout.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCluster } from '@kpb/model';
import { baseDocuments, fuzzSeed, kpb, mutatedInput, scaled, STACK_TRACE } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'kpb-rob-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Rejected inputs only, found by sampling mutations (seeded). */
function rejectedInputs(n: number): { text: string; how: string }[] {
  const out: { text: string; how: string }[] = [];
  for (const s of fc.sample(mutatedInput(baseDocuments()), { seed: fuzzSeed(99), numRuns: 400 })) {
    try {
      parseCluster(s.text);
    } catch {
      out.push(s);
      if (out.length >= n) break;
    }
  }
  return out;
}

async function inBatches<T>(items: readonly T[], size: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((x, j) => fn(x, i + j)));
}

describe('hostile input through the kpb CLI', () => {
  const inputs = [
    ...rejectedInputs(scaled(6, 2500)),
    { text: '{"kind":"Service","apiVersion":"v1","metadata":{"name":"a\\"; flush ruleset; \\""},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80}]}}', how: 'quote injection in a name' },
    { text: '\u0000\u0001\u001b[2J', how: 'control characters' },
  ];
  let runs = 0;
  afterAll(() => console.log(`[robustness] CLI fuzz: ${runs} kpb runs with hostile input or flags, all exit 2 without a stack trace`));

  it(`compile --input: exit 2, one clear message, no stack trace (${inputs.length} inputs)`, async () => {
    await inBatches(inputs, 3, async (input, i) => {
      const file = join(dir, `in-${i}.json`);
      writeFileSync(file, input.text);
      const r = await kpb(['compile', '--input', file]);
      runs++;
      expect(r.code, `${input.how}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr, input.how).not.toMatch(STACK_TRACE);
      expect(r.stderr).toMatch(/^kpb compile: /);
      expect(r.stderr).toContain(file);
      expect(r.stderr, input.how).toMatch(/^[\x20-\x7e…\n]*$/);
    });
  });

  it('hostile flags: exit 2, no stack trace', async () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify(baseDocuments()[0]));
    const cases: string[][] = [
      ['compile', '--input', file, '--node', 'a"; flush ruleset'],
      ['compile', '--input', file, '--cluster-cidr', '10.0.0.1/33'],
      ['compile', '--input', file, '--masquerade-bit', '1e3'],
      ['apply', '--input', file, '--netns', '../../proc/1/ns/net'],
      ['apply', '--input', file, '--netns', 'kpb-rob-does-not-exist'],
      ['sync', '--to', file, '--netns', 'x', '--lock-wait', '-1'],
      ['verify', '--input', `${file}\n-j ACCEPT`, '--netns', 'x'],
    ];
    await inBatches(cases, 3, async (args) => {
      const r = await kpb(args);
      runs++;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).not.toMatch(STACK_TRACE);
    });
  });
});
