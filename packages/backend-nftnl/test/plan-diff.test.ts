import { describe, expect, it } from 'vitest';
import { diffPlans } from '@kpb/compiler';
import { fastDiffPlans, planDigest, updateDigest, digestText } from '../src/index.ts';
import { cluster, editCluster, plan } from './helpers.ts';

describe('fastDiffPlans', () => {
  const c = cluster(300);
  const A = plan(c);
  const B = plan(editCluster(c));
  it('agrees with diffPlans', () => {
    for (const [x, y] of [[A, B], [B, A], [A, plan(c)], [A, A]] as const) {
      const fast = fastDiffPlans(x, y);
      const slow = diffPlans(x, y);
      expect([...fast.added].sort()).toEqual([...slow.added].sort());
      expect([...fast.removed].sort()).toEqual([...slow.removed].sort());
      expect([...fast.changed].sort()).toEqual([...slow.changed].sort());
      expect(fast.settingsChanged).toBe(slow.settingsChanged);
      expect(fast.before.length).toBe(slow.changed.length + slow.removed.length);
      expect(fast.after.length).toBe(slow.changed.length + slow.added.length);
    }
    expect(fastDiffPlans(A, B).changed.length).toBeGreaterThan(10);
  });
  it('digest: equal plans agree; the incremental update equals the full digest', () => {
    expect(digestText(planDigest(plan(c)))).toBe(digestText(planDigest(A)));
    const updated = updateDigest(planDigest(A), plan(editCluster(c)), fastDiffPlans(A, B));
    expect(digestText(updated)).toBe(digestText(planDigest(B)));
    expect(digestText(planDigest(A))).not.toBe(digestText(planDigest(B)));
  });
});
