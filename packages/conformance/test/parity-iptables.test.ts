/**
 * kube-proxy's own iptables goldens (transcribed in ../kube-proxy/) against kpb's iptables
 * rules, normalised so that only spelling is forgiven; the listed omissions are taken out first.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compile, nodeSettings } from '@kpb/compiler';
import { parseCluster } from '@kpb/model';
import { renderText } from '@kpb/backend-iptables';
import { diffNormal, normalRuleset } from '../src/parity/iptables.ts';
import { IPTABLES_OMISSIONS } from '../src/parity/omissions.ts';

const DIR = new URL('../kube-proxy/iptables/', import.meta.url);
/** kube-proxy's fake proxier: node test-node, pod CIDR 10.0.0.0/8 (see ../kube-proxy/README.md). */
const SETTINGS = nodeSettings({ nodeName: 'test-node', clusterCIDR: '10.0.0.0/8' });
const GOLDENS = ['overall'];

function kpbRules(name: string): string {
  const file = new URL(`${name}.yaml`, DIR);
  const { cluster } = parseCluster(readFileSync(file, 'utf8'), file.pathname);
  return renderText(compile(cluster, SETTINGS));
}

/** Both sides normalised, the omissions taken out; with how much each omission removed. */
function compared(name: string): { diff: string[]; removed: Map<string, number> } {
  const want = normalRuleset(readFileSync(new URL(`${name}.rules`, DIR), 'utf8'));
  const got = normalRuleset(kpbRules(name));
  const removed = new Map<string, number>();
  for (const o of IPTABLES_OMISSIONS) removed.set(o.id, o.remove(o.side === 'kube-proxy' ? want : got));
  return { diff: diffNormal(want, got), removed };
}

describe("kube-proxy's iptables goldens", () => {
  for (const name of GOLDENS) {
    it(`${name}: kpb's rules equal kube-proxy's, rule for rule, but for the listed omissions`, () => {
      expect(compared(name).diff).toEqual([]);
    });
  }

  it('every listed omission still takes something out of some golden', () => {
    const total = new Map<string, number>();
    for (const name of GOLDENS) {
      for (const [id, n] of compared(name).removed) total.set(id, (total.get(id) ?? 0) + n);
    }
    for (const o of IPTABLES_OMISSIONS) expect(total.get(o.id), o.id).toBeGreaterThan(0);
  });
});

describe('the iptables normaliser', () => {
  const restore = (rule: string) => normalRuleset(`*nat\n:KUBE-SERVICES - [0:0]\n${rule}\nCOMMIT\n`);
  it("reads kube-proxy's restore spelling and iptables-save's as the same rule", () => {
    const kubeProxy = restore('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-X');
    const saved = restore('-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-X');
    expect(diffNormal(kubeProxy, saved)).toEqual([]);
    expect(diffNormal(restore('-A KUBE-SERVICES -j MARK --or-mark 0x4000'), restore('-A KUBE-SERVICES -j MARK --set-xmark 0x4000/0x4000'))).toEqual([]);
    expect(diffNormal(restore('-A KUBE-SERVICES -j REJECT'), restore('-A KUBE-SERVICES -j REJECT --reject-with icmp-port-unreachable'))).toEqual([]);
  });
  it('still tells different rules apart', () => {
    const a = restore('-A KUBE-SERVICES -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-X');
    expect(diffNormal(a, restore('-A KUBE-SERVICES -m tcp -p tcp -d 172.30.0.41 --dport 81 -j KUBE-SVC-X'))).toHaveLength(1);
    expect(diffNormal(a, restore('-A KUBE-SERVICES ! -d 172.30.0.41 -m tcp -p tcp --dport 80 -j KUBE-SVC-X'))).toHaveLength(1);
    expect(diffNormal(restore('-A KUBE-SERVICES -j MARK --or-mark 0x4000'), restore('-A KUBE-SERVICES -j MARK --xor-mark 0x4000'))).toHaveLength(1);
  });
});
