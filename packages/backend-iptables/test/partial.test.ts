/**
 * The partial sync's --noflush input, checked by replaying it over the rendered `from` (declare
 * a chain: flush it; -A: append; -X: delete) and comparing with the rendered `to`; and what it
 * leaves out (nat top-level chains whose rules stay the same).
 */
import { describe, expect, it } from 'vitest';
import { diffPlans, type Plan } from '@kpb/compiler';
import type { Cluster } from '@kpb/model';
import { partialRestoreInput, renderRuleset } from '../src/index.ts';
import { ep, mixCluster, oneServiceCluster, planOf, slice, svc } from './fixtures.ts';

type Tables = Record<string, Map<string, string[]>>;

function rendered(plan: Plan): Tables {
  const r = renderRuleset(plan);
  return { filter: new Map([...r.filter.rules].map(([c, l]) => [c, [...l]])), nat: new Map([...r.nat.rules].map(([c, l]) => [c, [...l]])) };
}

/** iptables-restore --noflush of `input` over `tables`, as far as the partial sync uses it. */
function replay(tables: Tables, input: string): Tables {
  let table: Map<string, string[]> | undefined;
  for (const line of input.split('\n')) {
    if (line.startsWith('*')) table = tables[line.slice(1)];
    else if (line.startsWith(':')) table!.set(line.slice(1, line.indexOf(' ')), []);
    else if (line.startsWith('-A ')) table!.get(line.split(' ')[1]!)!.push(line);
    else if (line.startsWith('-X ')) table!.delete(line.slice(3));
  }
  return tables;
}

const sorted = (t: Tables) => Object.fromEntries(Object.entries(t).map(([name, m]) => [name, [...m].sort(([a], [b]) => (a < b ? -1 : 1))]));
const declared = (input: string, table: string) => {
  const start = input.indexOf(`*${table}\n`);
  return start < 0 ? [] : input.slice(start, input.indexOf('COMMIT', start)).split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1, l.indexOf(' ')));
};

const withService = (c: Cluster): Cluster => ({
  ...c,
  services: [...c.services, svc('ns9', 'svc9', { clusterIPs: ['172.30.0.49'] })],
  endpointSlices: [...c.endpointSlices, slice('ns9', 'svc9', [ep('10.180.9.1')])],
});

/** oneServiceCluster(0) with its port moved: a change to filter's REJECT rule alone. */
const noEndpointsOnPort81: Cluster = { ...oneServiceCluster(0), services: [svc('ns1', 'svc1', { ports: [{ name: 'p80', protocol: 'TCP', port: 81, targetPort: 80 }] })] };

const cases: [string, Cluster, Cluster, (input: string) => void][] = [
  ['one service gains an endpoint: only its own chains', oneServiceCluster(3), oneServiceCluster(4), (input) => {
    expect(declared(input, 'nat').filter((c) => !/^KUBE-(SVC|SEP)-/.test(c))).toEqual([]);
  }],
  ['a service with endpoints is added: nat KUBE-SERVICES is rewritten, KUBE-NODEPORTS is not', mixCluster(), withService(mixCluster()), (input) => {
    expect(declared(input, 'nat')).toContain('KUBE-SERVICES');
    expect(declared(input, 'nat')).not.toContain('KUBE-NODEPORTS');
  }],
  ['a service is removed', withService(mixCluster()), mixCluster(), (input) => expect(input).toContain('\n-X KUBE-SEP-')],
  ['a service loses its endpoints', mixCluster(), { ...mixCluster(), endpointSlices: mixCluster().endpointSlices.slice(1) }, () => undefined],
  ['nothing changes in nat: its two fixed chains keep the table in the input', oneServiceCluster(0), noEndpointsOnPort81, (input) => {
    expect(declared(input, 'nat')).toEqual(['KUBE-POSTROUTING', 'KUBE-MARK-MASQ']);
  }],
];

describe('partial sync input', () => {
  for (const [what, a, b, check] of cases) {
    it(what, () => {
      const from = planOf(a);
      const to = planOf(b);
      const input = partialRestoreInput(from, to, diffPlans(from, to)).text;
      expect(sorted(replay(rendered(from), input))).toEqual(sorted(rendered(to)));
      expect(declared(input, 'filter')).toEqual(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']);
      check(input);
    });
  }
});
