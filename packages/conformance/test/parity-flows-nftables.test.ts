/**
 * kube-proxy's nftables-mode packet-flow tests (transcribed in ../kube-proxy/flows-nftables/)
 * through the tracer of every nft and nftnl case, the plans compiled with kube-proxy's
 * nftables-mode settings. kube-proxy's nftables mode answers some rows unlike its iptables mode
 * (cluster-ips-check, NodePorts on the primary node IP only); the rows kpb answers differently
 * are recorded, case by case, in known-differences.txt (today: none), and the test fails when
 * that list changes in either direction.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { compile, nodeSettings } from '@kpb/compiler';
import { parseCluster } from '@kpb/model';
import { BACKEND_CASES } from '../src/index.ts';
import { flowPacket, judgeKubeProxyFlow, readKubeProxyFlows } from '../src/parity/flows.ts';

const DIR = new URL('../kube-proxy/flows-nftables/', import.meta.url);
/**
 * kube-proxy's fake nftables proxier: node test-node, pod CIDR 10.0.0.0/8, NodePorts on the
 * primary node IP only, service CIDR 172.30.0.0/16 (see ../kube-proxy/README.md).
 */
const SETTINGS = nodeSettings({ nodeName: 'test-node', clusterCIDR: '10.0.0.0/8', nodePortAddresses: 'primary', serviceCIDRs: ['172.30.0.0/16'] });
const TESTS = readdirSync(DIR).filter((f) => f.endsWith('.flows.yaml')).map((f) => f.slice(0, -'.flows.yaml'.length)).sort();
const NFT_CASES = BACKEND_CASES.filter((c) => c.backend === 'nft' || c.backend === 'nftnl');
const recorded = readFileSync(new URL('known-differences.txt', DIR), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));

/** `case: table: row` for every row a case's tracer answers unlike kube-proxy's nftables mode. */
function differences(): string[] {
  const out: string[] = [];
  for (const name of TESTS) {
    const file = new URL(`${name}.yaml`, DIR);
    const plan = compile(parseCluster(readFileSync(file, 'utf8'), file.pathname).cluster, SETTINGS);
    const flows = readKubeProxyFlows(name, DIR);
    for (const c of NFT_CASES) {
      const backend = c.create();
      for (const flow of flows) if (judgeKubeProxyFlow(backend.trace(plan, flowPacket(flow)), flow) !== undefined) out.push(`${c.id}: ${name}: ${flow.name}`);
    }
  }
  return out;
}

describe("kube-proxy's nftables-mode flows", () => {
  it('finds the transcribed tables and every nft and nftnl case', () => {
    expect(TESTS.length).toBeGreaterThanOrEqual(3);
    expect(NFT_CASES.length).toBeGreaterThanOrEqual(4);
  });
  it('kpb answers them like kube-proxy except where recorded', () => {
    expect(differences()).toEqual(recorded);
  });
});
