import { describe, expect, it } from 'vitest';
import { diffPlans } from '@kpb/compiler';
import { digestText, parseDigest, planDigest, updateDigest } from '../src/digest.ts';
import { cluster, editCluster, plan } from './helpers.ts';

describe('plan digest', () => {
  const c = cluster(300);
  const A = plan(c);
  const B = plan(editCluster(c));
  it('equal plans agree; different plans differ', () => {
    expect(digestText(planDigest(plan(c)))).toBe(digestText(planDigest(A)));
    expect(digestText(planDigest(A))).not.toBe(digestText(planDigest(B)));
  });
  it('the incremental update equals the full digest', () => {
    const updated = updateDigest(planDigest(A), plan(editCluster(c)), diffPlans(A, B));
    expect(digestText(updated)).toBe(digestText(planDigest(B)));
    const back = updateDigest(planDigest(B), plan(c), diffPlans(B, A));
    expect(digestText(back)).toBe(digestText(planDigest(A)));
  });
  it('round-trips through its text', () => {
    expect(parseDigest(digestText(planDigest(A)))).toEqual(planDigest(A));
  });
});
