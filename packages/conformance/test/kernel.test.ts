/**
 * The flow table with real packets: a virtual cluster (client, node, pods over veth) per backend,
 * the fixture's rules loaded into the node by the backend, every row probed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '@kpb/backend';
import { canUseKernel, createVirtualCluster, type VirtualCluster } from '@kpb/testing';
import { BACKEND_CASES, FLOWS, HOSTS, PODS, fixturePlan, judgeProbe, probeRow, sourceAddress } from '../src/index.ts';

const plan = fixturePlan();

describe.skipIf(!canUseKernel())('conformance on a real kernel', () => {
  describe.each(BACKEND_CASES)('$id', ({ create }) => {
    let vc: VirtualCluster | undefined;
    let backend: Backend;

    beforeAll(async () => {
      backend = create();
      vc = await createVirtualCluster({
        nodeIP: HOSTS.nodeIP,
        clientIP: HOSTS.clientIP,
        extraClientIPs: [HOSTS.allowedClientIP],
        pods: PODS,
        routedToNode: HOSTS.routedToNode,
      });
      await backend.apply({ kind: 'netns', name: vc.nodeNs }, plan);
    }, 60_000);

    afterAll(async () => {
      await vc?.teardown();
    }, 60_000);

    it('the kernel holds exactly the plan', async () => {
      const result = await backend.verify({ kind: 'netns', name: vc!.nodeNs }, plan);
      expect(result.differences).toEqual([]);
    });

    it.each(FLOWS)('$name', async (row) => {
      if (row.protocol === 'SCTP' && !vc!.sctpSupported) {
        console.warn(`SCTP row not run: this kernel has no SCTP sockets (${vc!.sctpReason ?? 'unknown reason'})`);
        return;
      }
      const result = await probeRow(vc!, row);
      const problem = judgeProbe(row, result);
      if (problem) {
        const trace = backend.trace(plan, { src: sourceAddress(row.from), protocol: row.protocol, dst: row.dst, dport: row.port, origin: row.from === 'node' ? 'local' : 'forward' });
        expect.fail(`${problem}\n  rule path (tracer): ${trace.path.join(' → ')}`);
      }
    }, 30_000);
  });
});
