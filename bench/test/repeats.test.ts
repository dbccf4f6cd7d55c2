import { describe, expect, it } from 'vitest';
import { program } from '../src/main.ts';
import { repeatsAt } from '../src/runner.ts';

describe('repeats per size', () => {
  it('sizes above 10k get --repeats-above-10k when it is fewer, the others --repeats', () => {
    const o = { repeats: 6, repeatsAbove10k: 3 };
    expect([1000, 10_000, 10_001, 30_000].map((n) => repeatsAt(o, n))).toEqual([6, 6, 3, 3]);
    expect(repeatsAt({ repeats: 2, repeatsAbove10k: 3 }, 30_000)).toBe(2);
    expect(repeatsAt({ repeats: 4 }, 100_000)).toBe(4);
  });

  it('--help names --publish and --repeats-above-10k', () => {
    const run = program().commands.find((c) => c.name() === 'run')!;
    const help = run.helpInformation();
    expect(help).toContain('--publish');
    expect(help).toContain('1000,3000,10000,30000, 6 repeats (3 above 10k)');
    expect(help).toContain('--repeats-above-10k <n>');
  });
});
