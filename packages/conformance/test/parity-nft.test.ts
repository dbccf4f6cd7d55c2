/**
 * kube-proxy's TestOverallNFTablesRules (transcribed in ../kube-proxy/nftables/) against kpb's
 * `kube-proxy` layout, normalised so that only spelling is forgiven, the plan compiled with the
 * settings of kube-proxy's fake nftables proxier. What differs is recorded, line for line, in
 * overall.differences.txt (today: nothing). The test fails when that list changes in either direction: a fix
 * must take its line out, and nothing may drift further from kube-proxy unnoticed.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compile, nodeSettings } from '@kpb/compiler';
import { parseCluster } from '@kpb/model';
import { BACKEND_CASES } from '../src/index.ts';
import { diffNft, normalNft } from '../src/parity/nft.ts';

const DIR = new URL('../kube-proxy/nftables/', import.meta.url);
// kube-proxy's fake nftables proxier: NodePorts on the primary node IP only, service CIDR 172.30.0.0/16.
const SETTINGS = nodeSettings({ nodeName: 'test-node', clusterCIDR: '10.0.0.0/8', nodePortAddresses: 'primary', serviceCIDRs: ['172.30.0.0/16'] });
const read = (name: string) => readFileSync(new URL(name, DIR), 'utf8');
const recorded = read('overall.differences.txt').split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe("kube-proxy's nftables golden, kube-proxy layout", () => {
  const plan = compile(parseCluster(read('overall.yaml'), 'overall.yaml').cluster, SETTINGS);
  const want = normalNft(read('overall.nft'));
  for (const c of BACKEND_CASES.filter((x) => x.variant === 'kube-proxy')) {
    it(`${c.id}: differs from kube-proxy's TestOverallNFTablesRules exactly where recorded`, () => {
      expect(diffNft(want, normalNft(c.create().renderText(plan)))).toEqual(recorded);
    });
  }
});

describe('the nft normaliser', () => {
  const one = (rule: string) => normalNft(`add table ip t\nadd chain ip t c\nadd rule ip t c ${rule}\n`);
  it("reads nft's listing spelling and kube-proxy's input spelling as the same rule", () => {
    expect(diffNft(one('mark set mark or 0x4000'), one('meta mark set meta mark | 0x00004000'))).toEqual([]);
    expect(diffNft(one('mark and 0x4000 == 0 return'), one('meta mark & 0x00004000 == 0x00000000 return'))).toEqual([]);
    expect(diffNft(one('numgen random mod 2 vmap { 0 : goto a , 1 : goto b }'), one('numgen random mod 2 vmap { 0 : goto a, 1 : goto b }'))).toEqual([]);
  });
  it('still tells different rules and elements apart', () => {
    expect(diffNft(one('mark set mark or 0x4000'), one('mark set mark xor 0x4000'))).toHaveLength(1);
    const el = (e: string) => normalNft(`add element ip t s { ${e} }`);
    expect(diffNft(el('1.2.3.4 . tcp . 80 : drop, 5.6.7.8 . tcp . 80 : drop'), el('5.6.7.8 . tcp . 80 : drop, 1.2.3.4 . tcp . 80 : drop'))).toEqual([]);
    expect(diffNft(el('1.2.3.4 . tcp . 80 comment "a, b" : drop'), el('1.2.3.4 . tcp . 80 : drop'))).toHaveLength(2);
  });
});
