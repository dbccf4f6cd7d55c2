import { describe, expect, it } from 'vitest';
import { BACKEND_CASES, cliArgs, skipReason } from '../src/index.ts';

describe('the backend registry', () => {
  it('ids are backend/variant and unique', () => {
    const ids = BACKEND_CASES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of BACKEND_CASES) expect(c.id).toBe(`${c.backend}/${c.variant}`);
  });

  it.each(BACKEND_CASES)('$id: its factory makes that backend and variant', (c) => {
    const b = c.create();
    expect({ name: b.name, variant: b.variant }).toEqual({ name: c.backend, variant: c.variant });
  });

  it.each(BACKEND_CASES)('$id: its flags name its backend and its variant', (c) => {
    expect(c.flags.backend).toBe(c.backend);
    expect(c.backend === 'iptables' ? c.flags.iptables : c.flags.layout).toBe(c.variant);
    expect(cliArgs(c).slice(0, 2)).toEqual(['--backend', c.backend]);
    expect(cliArgs(c)).toContain(c.variant);
  });

  it('no two cases are selected by the same flags', () => {
    const args = BACKEND_CASES.map((c) => cliArgs(c).join(' '));
    expect(new Set(args).size).toBe(args.length);
  });

  it('an unavailable case is skipped, except under CI', () => {
    const missing = { ...BACKEND_CASES[0]!, unavailable: () => 'no addon' };
    const ci = process.env.CI;
    try {
      process.env.CI = 'false';
      expect(skipReason(missing)).toBe('no addon');
      process.env.CI = 'true';
      expect(skipReason(missing)).toBeUndefined();
    } finally {
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
    }
  });
});
