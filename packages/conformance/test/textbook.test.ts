/**
 * The textbook example, measured: three unconditional DNAT rules send every connection to the
 * first pod (and replies come back un-NATed with no SNAT rule at all); kpb's rules for the same
 * Service spread connections over all three pods.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIptablesBackend } from '@kpb/backend-iptables';
import { compile, nodeSettings } from '@kpb/compiler';
import { databaseServiceYaml } from '@kpb/examples';
import { parseCluster } from '@kpb/model';
import { canUseKernel, createVirtualCluster, execIn, type VirtualCluster } from '@kpb/testing';

const PODS = ['10.2.2.10', '10.2.2.11', '10.2.2.12'].map((ip, i) => ({ name: `db-${i + 1}`, ip, tcpPorts: [3306] }));

const TEXTBOOK = `*nat
:KUBE-SERVICES - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.0.1.100/32 -p tcp -m tcp --dport 3306 -j DNAT --to-destination 10.2.2.10:3306
-A KUBE-SERVICES -d 10.0.1.100/32 -p tcp -m tcp --dport 3306 -j DNAT --to-destination 10.2.2.11:3306
-A KUBE-SERVICES -d 10.0.1.100/32 -p tcp -m tcp --dport 3306 -j DNAT --to-destination 10.2.2.12:3306
-A POSTROUTING -s 10.2.2.0/24 -j SNAT --to-source 10.0.1.100
COMMIT
`;

describe.skipIf(!canUseKernel())('the textbook example on a real kernel', () => {
  let vc: VirtualCluster | undefined;
  beforeAll(async () => {
    vc = await createVirtualCluster({ nodeIP: '192.168.100.1', clientIP: '192.168.100.2', pods: PODS, routedToNode: ['10.0.1.0/24'] });
  }, 60_000);
  afterAll(async () => {
    await vc?.teardown();
  }, 60_000);

  it('three unconditional DNAT rules: the first pod gets every connection; replies arrive without any SNAT for them', async () => {
    await execIn(vc!.nodeNs, ['iptables-restore', '--noflush'], { input: TEXTBOOK });
    const r = await vc!.probe({ from: 'client', proto: 'tcp', dst: '10.0.1.100', port: 3306, count: 60 });
    // Every connect to 10.0.1.100 succeeded: the replies were un-DNATed by conntrack (a reply
    // from 10.2.2.10 itself would have been answered with a reset by the client).
    expect(r.timeouts + r.refused).toBe(0);
    expect(r.answers).toEqual({ 'db-1': 60 });
    await execIn(vc!.nodeNs, ['iptables', '-t', 'nat', '-F']);
    await execIn(vc!.nodeNs, ['iptables', '-t', 'nat', '-X', 'KUBE-SERVICES']);
  }, 30_000);

  it("kpb's rules for the same Service spread connections over all three pods", async () => {
    const { cluster } = parseCluster(readFileSync(databaseServiceYaml, 'utf8'), databaseServiceYaml);
    const plan = compile(cluster, nodeSettings({ nodeName: 'node-1' }));
    await createIptablesBackend().apply({ kind: 'netns', name: vc!.nodeNs }, plan);
    const r = await vc!.probe({ from: 'client', proto: 'tcp', dst: '10.0.1.100', port: 3306, count: 90 });
    const per = r.answers;
    expect(Object.keys(per).sort()).toEqual(['db-1', 'db-2', 'db-3']);
    for (const n of Object.values(per)) expect(n).toBeGreaterThanOrEqual(10);
  }, 30_000);
});
