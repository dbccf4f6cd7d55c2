/**
 * kube-proxy's packet-flow tests (transcribed in ../kube-proxy/flows/, from its iptables-mode
 * tests) through every backend case's tracer: each row must get kube-proxy's answer, in the
 * case's kube-proxy mode (a row kube-proxy's nftables tests also ask takes their answer there).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { compile, nodeSettings } from '@kpb/compiler';
import { parseCluster } from '@kpb/model';
import { BACKEND_CASES, kubeProxyMode } from '../src/index.ts';
import { FLOWS_DIR, asNftablesMode, flowPacket, judgeKubeProxyFlow, readKubeProxyFlows } from '../src/parity/flows.ts';

/** kube-proxy's fake proxier: node test-node, pod CIDR 10.0.0.0/8 (see ../kube-proxy/README.md). */
const SETTINGS = nodeSettings({ nodeName: 'test-node', clusterCIDR: '10.0.0.0/8' });
/** Every transcribed flow table: ../kube-proxy/flows/<name>.yaml with <name>.flows.yaml beside it. */
const TESTS = readdirSync(FLOWS_DIR).filter((f) => f.endsWith('.flows.yaml')).map((f) => f.slice(0, -'.flows.yaml'.length)).sort();

it('finds the transcribed tables', () => expect(TESTS.length).toBeGreaterThanOrEqual(9));

describe.each(TESTS)("kube-proxy's flows: %s", (name) => {
  const file = new URL(`${name}.yaml`, FLOWS_DIR);
  const plan = compile(parseCluster(readFileSync(file, 'utf8'), file.pathname).cluster, SETTINGS);
  const flows = readKubeProxyFlows(name);
  describe.each(BACKEND_CASES)('$id', ({ backend: name_, create }) => {
    const backend = create();
    it.each(kubeProxyMode(name_) === 'nftables' ? asNftablesMode(name, flows) : flows)('$name', (flow) => {
      expect(judgeKubeProxyFlow(backend.trace(plan, flowPacket(flow)), flow)).toBeUndefined();
    });
  });
});

describe('judging a flow', () => {
  const flow = readKubeProxyFlows('cluster-ip-general')[2]!;
  it('accepts the same endpoints in any order, and refuses others or a wrong masquerade', () => {
    const result = (endpoints: string[], masquerade: boolean) => ({ verdict: { kind: 'endpoints' as const, endpoints, masquerade }, path: [] });
    expect(judgeKubeProxyFlow(result(['10.180.2.1:80', '10.180.0.1:80'], false), flow)).toBeUndefined();
    expect(judgeKubeProxyFlow(result(['10.180.0.1:80'], false), flow)).toBeDefined();
    expect(judgeKubeProxyFlow(result(['10.180.0.1:80', '10.180.2.1:80'], true), flow)).toBeDefined();
    expect(judgeKubeProxyFlow({ verdict: { kind: 'untouched' }, path: [] }, flow)).toBeDefined();
  });
  it("takes nftables mode's answer for the rows kube-proxy's nftables tests ask too", () => {
    const iptables = readKubeProxyFlows('cluster-ip-general');
    const changed = asNftablesMode('cluster-ip-general', iptables).filter((f, i) => f.output !== iptables[i]!.output || f.masq !== iptables[i]!.masq);
    expect(changed.map((f) => [f.name, f.output])).toEqual([
      ['TCP-only port does not match UDP traffic', 'REJECT'],
      ["svc1 does not accept svc2's ports", 'REJECT'],
    ]);
  });
});
