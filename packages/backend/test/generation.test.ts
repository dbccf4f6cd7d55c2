/** Commit records: per target and family, state files a new instance reads, families moving together. */
import { describe, expect, it } from 'vitest';
import type { Plan } from '@kpb/compiler';
import { planDigest } from '../src/digest.ts';
import { commitRecords, distrust } from '../src/generation.ts';
import type { StateStore } from '../src/ports.ts';
import type { Target } from '../src/types.ts';

const plan = (nodeName: string): Plan => ({ family: 'IPv4', settings: { nodeName, masqueradeAll: false, masqueradeBit: 14 }, nodeIPs: ['192.0.2.1'], servicePorts: [], endpointCount: 0 }) as unknown as Plan;
const A = plan('a');
const B = plan('b');
const target: Target = { kind: 'netns', name: 'kpb-fake-1' };

function memoryStore(): StateStore & { files: Map<string, string> } {
  const files = new Map<string, string>();
  return { files, read: (k) => files.get(k), write: (k, t) => void files.set(k, t) };
}

describe('commit records', () => {
  it('one state file per backend, target and family; a new instance reads it (without the plan)', () => {
    const store = memoryStore();
    commitRecords(store, 'nft').record(target, { variant: 'flat', family: 'ip6', generation: 7, digest: planDigest(A), plan: A });
    expect([...store.files.keys()]).toEqual(['nft-kpb-fake-1-ip6.json']);
    const fresh = commitRecords(store, 'nft');
    expect(fresh.recall(target, 'ip')).toBeUndefined();
    expect(fresh.recall(target, 'ip6')).toMatchObject({ variant: 'flat', generation: 7 });
    expect(fresh.recall(target, 'ip6')!.plan).toBeUndefined();
    expect(commitRecords(store, 'nftnl').recall(target, 'ip6')).toBeUndefined();
  });

  it("a commit moves the other family's record only when that record held where the commit started", () => {
    const records = commitRecords(memoryStore(), 'nft');
    records.record(target, { variant: 'flat', family: 'ip', generation: 5, digest: planDigest(A), plan: A });
    records.record(target, { variant: 'flat', family: 'ip6', generation: 6, digest: planDigest(B), plan: B }, 5);
    expect(records.recall(target, 'ip')!.generation).toBe(6);
    records.record(target, { variant: 'flat', family: 'ip6', generation: 9, digest: planDigest(B), plan: B }, 8);
    expect(records.recall(target, 'ip')!.generation).toBe(6);
    records.forget(target);
    expect(records.recall(target, 'ip')).toBeUndefined();
    expect(records.recall(target, 'ip6')).toBeUndefined();
  });

  it('distrust names why a record does not vouch for --from', () => {
    const records = commitRecords(memoryStore(), 'nft');
    expect(distrust(records.recall(target, 'ip'), 'flat', 3, A)).toBe('no record of a previous commit');
    records.record(target, { variant: 'flat', family: 'ip', generation: 3, digest: planDigest(A), plan: A });
    const rec = records.recall(target, 'ip');
    expect(distrust(rec, 'flat', 3, A)).toBeUndefined();
    expect(distrust(rec, 'kube-proxy', 3, A)).toBe('the kernel was loaded with variant flat');
    expect(distrust(rec, 'flat', 4, A)).toBe('ruleset generation 4, recorded 3');
    expect(distrust(rec, 'flat', 3, B)).toBe('the recorded plan is not --from');
    expect(distrust(commitRecords(memoryStore(), 'x').recall(target, 'ip'), 'flat', 3, A)).toBeDefined();
  });
});
