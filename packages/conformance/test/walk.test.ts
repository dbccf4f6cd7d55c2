import { expect, it } from 'vitest';
import { parseIP } from '@kpb/model/net';
import { randomWalk } from '../src/index.ts';
it('a dual-stack walk writes only canonical addresses (as the API server stores them; iptables-save prints them so)', () => {
  const w = randomWalk(50, 42, 'dual');
  for (let i = 0; i < 200; i++) w.step();
  for (const s of w.cluster.endpointSlices) for (const e of s.endpoints) for (const a of e.addresses) expect(parseIP(a)?.text).toBe(a);
  for (const s of w.cluster.services) for (const a of s.clusterIPs) expect(parseIP(a)?.text).toBe(a);
});
