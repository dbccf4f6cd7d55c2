/**
 * The flow table with real packets: a virtual cluster (client, node, pods over veth) per backend
 * case, the fixture's rules loaded into the node by the backend (once per settings profile the
 * rows use), every row probed with the expectation of the case's kube-proxy mode. The node has a
 * secondary address and serves the NodePorts itself, so that traffic the rules leave alone is seen
 * arriving where it was sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { canUseKernel, createVirtualCluster, type VirtualCluster } from '@kpb/testing';
import { BACKEND_CASES, HOSTS, PODS, addSecondaryNodeIP, fixturePlans, flowsBySettings, judgeProbe, kubeProxyMode, probeRow, startNodeServer, tracePacket } from '../src/index.ts';

describe.skipIf(!canUseKernel())('conformance on a real kernel', () => {
  describe.each(BACKEND_CASES)('$id', ({ backend: name, create }) => {
    let vc: VirtualCluster | undefined;
    let stopNodeServer: (() => void) | undefined;
    let backend: Backend;

    beforeAll(async () => {
      backend = create();
      vc = await createVirtualCluster({
        nodeIP: HOSTS.nodeIP,
        clientIP: HOSTS.clientIP,
        nodeIP6: HOSTS.nodeIP6,
        clientIP6: HOSTS.clientIP6,
        extraClientIPs: [HOSTS.allowedClientIP, HOSTS.allowedClientIP6],
        pods: PODS,
        routedToNode: HOSTS.routedToNode,
      });
      await addSecondaryNodeIP(vc);
      stopNodeServer = await startNodeServer(vc);
    }, 60_000);

    afterAll(async () => {
      stopNodeServer?.();
      await vc?.teardown();
    }, 60_000);

    describe.each(flowsBySettings(kubeProxyMode(name)))('settings $settings', ({ settings, rows }) => {
      const plan: Plan[] = fixturePlans(settings);

      beforeAll(async () => {
        await backend.apply({ kind: 'netns', name: vc!.nodeNs }, plan);
      }, 60_000);

      it('the kernel holds exactly the plan', async () => {
        const result = await backend.verify({ kind: 'netns', name: vc!.nodeNs }, plan);
        expect(result.differences).toEqual([]);
      });

      it.each(rows)('$name', async (row) => {
        if (row.protocol === 'SCTP' && !vc!.sctpSupported) {
          console.warn(`SCTP row not run: this kernel has no SCTP sockets (${vc!.sctpReason ?? 'unknown reason'})`);
          return;
        }
        const problem = judgeProbe(row, await probeRow(vc!, row));
        if (problem) expect.fail(`${problem}\n  rule path (tracer): ${backend.trace(plan, tracePacket(row)).path.join(' → ')}`);
      }, 30_000);
    });
  });
});
