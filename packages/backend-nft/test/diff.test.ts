import { describe, expect, it } from 'vitest';
import { compile, diffPlans } from '@kpb/compiler';
import type { Plan } from '@kpb/compiler';
import { buildRuleset, describeOp, diffChangedServicePorts, diffRulesets, renderOps } from '../src/index.ts';
import { edit, ep, SETTINGS, slice, smallCluster, svc } from './fixtures.ts';

const base = smallCluster();
const a = buildRuleset(compile(base, SETTINGS));

describe('diffRulesets', () => {
  it('is empty for equal rulesets', () => {
    expect(diffRulesets(a, buildRuleset(compile(base, SETTINGS))).ops).toEqual([]);
  });

  it('one endpoint replaced: new chain, flushed service chain, element-free, stale chain deleted last', () => {
    const b = buildRuleset(
      compile(edit(base, { slices: (s) => s.map((x) => (x.serviceName === 'web' ? slice('ns1', 'web', [ep('10.1.1.1', 'node-a'), ep('10.1.2.1'), ep('10.1.2.9')]) : x)) }), SETTINGS),
    );
    const d = diffRulesets(a, b);
    expect(d.fullReason).toBeUndefined();
    const ops = d.ops.map((o) => describeOp(o, 'ip'));
    expect(ops).toEqual([
      expect.stringMatching(/^add chain endpoint-.*ns1\/web\/tcp\/p80__10\.1\.2\.9\/8080$/),
      expect.stringMatching(/^flush chain service-LV5ZVUGQ-ns1\/web\/tcp\/p80$/),
      expect.stringMatching(/^flush chain endpoint-KE2ROMNS-.*10\.1\.2\.2\/8080$/),
      expect.stringMatching(/^add 2 rule\(s\) to endpoint-.*10\.1\.2\.9\/8080$/),
      expect.stringMatching(/^add 4 rule\(s\) to service-LV5ZVUGQ/),
      expect.stringMatching(/^delete chain endpoint-KE2ROMNS-/),
    ]);
    const script = renderOps(d.ops, 'ip');
    expect(script.split('\n')[0]).toMatch(/^add chain ip kube-proxy endpoint-/);
    expect(script).toContain('delete chain ip kube-proxy endpoint-KE2ROMNS-ns1/web/tcp/p80__10.1.2.2/8080');
  });

  it('service removed: elements deleted before chains; chains flushed before deleted', () => {
    const b = buildRuleset(compile(edit(base, { services: (s) => s.filter((x) => x.name !== 'lb') }), SETTINGS));
    const ops = diffRulesets(a, b).ops;
    const idx = (p: (o: (typeof ops)[number]) => boolean) => ops.findIndex(p);
    const delEl = idx((o) => o.op === 'delete-elements' && o.name === 'service-ips');
    const flush = idx((o) => o.op === 'flush-chain' && o.chain.startsWith('external-QUENYE7E'));
    const delChain = idx((o) => o.op === 'delete-chain' && o.chain.startsWith('external-QUENYE7E'));
    const delSet = idx((o) => o.op === 'delete-set' && o.name.startsWith('affinity-'));
    expect(Math.min(delEl, flush)).toBeGreaterThanOrEqual(0);
    expect(delChain).toBeGreaterThan(Math.max(delEl, flush));
    expect(delSet).toBeGreaterThan(delChain);
  });

  it('asks for a full apply when a base chain definition differs', () => {
    const b = { ...a, chains: a.chains.map((c) => (c.name === 'filter-input' ? { ...c, base: { ...c.base!, priority: -110 } } : c)) };
    expect(diffRulesets(a, b).fullReason).toBe('chain filter-input definition differs');
  });

  it('scripts only commands after which nft fetches no rule and no set element', () => {
    // `add rule TABLE CHAIN handle|index|position N …`, replace, insert at a position, list, reset and get
    // make nft read every rule of the ruleset (or a set's elements) before it runs the script.
    const allowed = /^(add|delete) (chain|set|map|element) |^flush chain |^add rule ip kube-proxy \S+ (?!(handle|index|position) )/;
    const edits = [
      edit(base, { services: (s) => s.filter((x) => x.name !== 'lb') }),
      edit(base, { slices: (s) => s.map((x) => (x.serviceName === 'web' ? slice('ns1', 'web', [ep('10.1.1.1', 'node-a'), ep('10.1.2.9')]) : x)) }),
    ];
    const scripts = [
      ...edits.map((e) => renderOps(diffRulesets(a, buildRuleset(compile(e, SETTINGS))).ops, 'ip')),
      ...edits.map((e) => renderOps(diffRulesets(buildRuleset(compile(e, SETTINGS)), a).ops, 'ip')),
    ];
    const lines = scripts.flatMap((s) => s.split('\n').filter(Boolean));
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((l) => !allowed.test(l))).toEqual([]);
  });

  it('rewrites cluster-ips-check incrementally when the service CIDRs change', () => {
    const plan = compile(base, SETTINGS);
    const d = diffRulesets(a, buildRuleset({ ...plan, serviceCIDRs: ['10.96.0.0/12'] }));
    expect(d.fullReason).toBeUndefined();
    expect(d.chains.added).toEqual([]);
    expect(d.chains.changed).toEqual(['cluster-ips-check']);
  });
});

describe('diffChangedServicePorts and the cluster-ips set', () => {
  const twoPorts = edit(base, {
    services: (s) => s.map((x) => (x.name === 'web' ? { ...x, ports: [...x.ports, { name: 'p443', protocol: 'TCP' as const, port: 443, targetPort: 8443 }] } : x)),
  });
  const build = (p: Plan) => buildRuleset(p);
  const clusterIPOps = (from: Plan, to: Plan) =>
    diffChangedServicePorts(build, from, to, diffPlans(from, to)).ops.filter((o) => 'name' in o && o.name === 'cluster-ips').map((o) => describeOp(o, 'ip'));

  it('keeps a ClusterIP another port of the service still has, and does not add it twice', () => {
    const one = compile(base, SETTINGS);
    const two = compile(twoPorts, SETTINGS);
    expect(clusterIPOps(two, one)).toEqual([]);
    expect(clusterIPOps(one, two)).toEqual([]);
  });

  it('adds and removes a ClusterIP with its last service port', () => {
    const without = compile(edit(base, { services: (s) => s.filter((x) => x.name !== 'web') }), SETTINGS);
    const one = compile(base, SETTINGS);
    expect(clusterIPOps(one, without)).toEqual(['delete 1 element(s) from set cluster-ips']);
    expect(clusterIPOps(without, one)).toEqual(['add 1 element(s) to set cluster-ips']);
  });
});

describe('map element comments', () => {
  it('an element whose comment changes is deleted and added again', () => {
    const kp = buildRuleset(compile(base, SETTINGS), 'kube-proxy');
    const recommented = { ...kp, maps: kp.maps.map((m) => ({ ...m, elements: m.elements.map((e) => (e.comment ? { ...e, comment: 'ns9/other:p80' } : e)) })) };
    const lines = renderOps(diffRulesets(kp, recommented).ops, 'ip').split('\n').filter((l) => l.includes('no-endpoint-services'));
    expect(lines).toEqual([
      'delete element ip kube-proxy no-endpoint-services { 10.96.0.40 . tcp . 80, 10.96.0.41 . tcp . 80 }',
      'add element ip kube-proxy no-endpoint-services { 10.96.0.40 . tcp . 80 comment "ns9/other:p80" : goto reject-chain, 10.96.0.41 . tcp . 80 comment "ns9/other:p80" : drop }',
    ]);
  });
});

describe('diffChangedServicePorts in layout maps', () => {
  const build = (p: Plan) => buildRuleset(p, 'maps');
  const webEps = [ep('10.1.1.1', 'node-a'), ep('10.1.2.1'), ep('10.1.2.2')];
  const twoPorts = edit(base, {
    services: (s) => s.map((x) => (x.name === 'web' ? { ...x, ports: [...x.ports, { name: 'p443', protocol: 'TCP' as const, port: 443, targetPort: 8443 }] } : x)),
    slices: (s) => [...s, slice('ns1', 'web', webEps, 8443, 'p443')],
  });
  const hairpinOps = (from: Plan, to: Plan) =>
    diffChangedServicePorts(build, from, to, diffPlans(from, to)).ops.filter((o) => 'name' in o && o.name === 'hairpin-endpoints').map((o) => describeOp(o, 'ip'));

  it('keeps the hairpin element of an endpoint another service port still has, and does not add it twice', () => {
    const one = compile(base, SETTINGS);
    const two = compile(twoPorts, SETTINGS);
    expect(hairpinOps(two, one)).toEqual([]);
    expect(hairpinOps(one, two)).toEqual([]);
    const without = compile(edit(base, { services: (s) => s.filter((x) => x.name !== 'web') }), SETTINGS);
    expect(hairpinOps(one, without)).toEqual(['delete 3 element(s) from set hairpin-endpoints']);
  });

  const many = (n: number, from = 10) => Array.from({ length: n }, (_, i) => ep(`10.1.3.${from + i}`));
  const big = (names: readonly string[]) =>
    edit(base, {
      services: (s) => [...s, ...names.map((name, i) => svc('ns4', name, `10.96.1.${i + 1}`))],
      slices: (s) => [...s, ...names.map((name, i) => slice('ns4', name, many(17, 10 + 20 * i)))],
    });

  it('above 16 endpoints: element ops while the counts with rules hold, a full apply (with the reason) when they change', () => {
    const both = compile(big(['big1', 'big2']), SETTINGS);
    const one = compile(big(['big1']), SETTINGS);
    const none = compile(base, SETTINGS);
    // big2 leaves, big1 keeps count 17: the whole rulesets are compared, and only elements differ.
    const d = diffChangedServicePorts(build, both, one, diffPlans(both, one));
    expect(d.fullReason).toBeUndefined();
    expect(new Set(d.ops.map((o) => o.op))).toEqual(new Set(['delete-elements']));
    expect(diffChangedServicePorts(build, one, none, diffPlans(one, none)).fullReason).toMatch(/^layout maps: rules for endpoint counts up to 17 become up to 16/);
    expect(diffChangedServicePorts(build, none, one, diffPlans(none, one)).fullReason).toMatch(/up to 16 become up to 17/);
  });
});
