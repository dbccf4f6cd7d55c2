/**
 * Real-kernel tests, each in a throwaway network namespace (deleted in afterAll, also on
 * failure). Never touches the root namespace's firewall.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runTool } from '@kpb/backend';
import { compile } from '@kpb/compiler';
import type { Plan } from '@kpb/compiler';
import { canUseKernel } from '@kpb/testing';
import { createNftBackend } from '../src/index.ts';
import type { NftBackend } from '../src/index.ts';
import { deleteNetns, edit, ep, makeNetns, nftIn, SETTINGS, slice, smallCluster, svc } from './fixtures.ts';

type NsTarget = ReturnType<typeof makeNetns>;
const golden = (layout: string) => readFileSync(fileURLToPath(new URL(`__golden__/small-${layout}.nft`, import.meta.url)), 'utf8');

const base = smallCluster();
const plans: Record<string, Plan> = {
  base: compile(base, SETTINGS),
  added: compile(
    edit(base, {
      services: (s) => [...s, svc('ns4', 'new', '10.96.0.60')],
      slices: (s) => [...s, slice('ns4', 'new', [ep('10.1.2.60'), ep('10.1.1.60', 'node-a')])],
    }),
    SETTINGS,
  ),
  removed: compile(
    edit(base, { services: (s) => s.filter((x) => x.name !== 'web' && x.name !== 'lb'), slices: (s) => s.filter((x) => x.serviceName !== 'web' && x.serviceName !== 'lb') }),
    SETTINGS,
  ),
  endpoints: compile(
    edit(base, {
      slices: (s) =>
        s.map((x) =>
          x.serviceName === 'web'
            ? slice('ns1', 'web', [ep('10.1.2.1'), ep('10.1.2.3'), ep('10.1.2.4'), ep('10.1.2.5')])
            : x.serviceName === 'lb'
              ? slice('ns2', 'lb', [ep('10.1.2.31')])
              : x.serviceName === 'np-local'
                ? slice('ns2', 'np-local', [])
                : x,
        ),
    }),
    SETTINGS,
  ),
  changed: compile(
    edit(base, {
      services: (s) =>
        s.map((x) =>
          x.name === 'lb'
            ? { ...x, sessionAffinity: { timeoutSeconds: 60 }, loadBalancerSourceRanges: ['203.0.113.0/24'] }
            : x.name === 'web'
              ? { ...x, type: 'NodePort' as const, ports: [{ ...x.ports[0]!, nodePort: 30090 }] }
              : x.name === 'empty'
                ? { ...x, ports: [{ ...x.ports[0]!, port: 81 }] }
                : x,
        ),
      slices: (s) => [...s, slice('ns3', 'empty', [ep('10.1.2.40')])],
    }),
    SETTINGS,
  ),
};

describe.skipIf(!canUseKernel())('nft backend on a real kernel', () => {
  let ns: NsTarget | undefined;
  let other: NsTarget | undefined;
  const t = () => ns!;

  beforeAll(() => {
    ns = makeNetns();
    other = makeNetns();
  });
  afterAll(() => {
    deleteNetns(ns);
    deleteNetns(other);
  });

  for (const layout of ['flat', 'kube-proxy'] as const) {
    describe(layout, () => {
      const b: NftBackend = createNftBackend({ layout });

      it('nft -c accepts the golden script', async () => {
        await runTool(t(), 'nft', ['-c', '-f', '-'], { input: golden(layout) });
      });

      it('apply → verify ok, readBack is the canonical rendering; flush removes only kpb’s table', async () => {
        nftIn(t(), ['-f', '-'], 'table inet foreign {\n chain c {\n type filter hook input priority 0; policy accept;\n tcp dport 22 accept\n }\n}\n');
        const foreign = nftIn(t(), ['list', 'table', 'inet', 'foreign']);
        const r = await b.apply(t(), plans.base!);
        expect(r.size.count).toBeGreaterThan(50);
        expect(r.timings.kernel).toBeGreaterThan(0);
        expect(await b.verify(t(), plans.base!)).toEqual({ ok: true, differences: [] });
        expect(await b.readBack(t())).toBe(b.renderCanonical(plans.base!));
        expect(nftIn(t(), ['list', 'table', 'inet', 'foreign'])).toBe(foreign);
        // A second apply replaces atomically (table exists).
        await b.apply(t(), plans.changed!);
        expect((await b.verify(t(), plans.changed!)).ok).toBe(true);
        await b.flush(t());
        expect(nftIn(t(), ['list', 'tables'])).toBe('table inet foreign\n');
        expect(nftIn(t(), ['list', 'table', 'inet', 'foreign'])).toBe(foreign);
        await b.flush(t()); // flushing nothing is fine
        nftIn(t(), ['delete', 'table', 'inet', 'foreign']);
      });

      for (const [from, to] of [
        ['base', 'added'],
        ['base', 'removed'],
        ['base', 'endpoints'],
        ['base', 'changed'],
        ['changed', 'base'],
        ['added', 'removed'],
        ['endpoints', 'base'],
      ] as const) {
        it(`sync ${from} → ${to} equals a full apply of ${to}`, async () => {
          await b.apply(t(), plans[from]!);
          const r = await b.sync(t(), plans[from]!, plans[to]!);
          expect(r.mode, r.reason).toBe('incremental');
          expect(r.changedServicePorts.length).toBeGreaterThan(0);
          const synced = await b.readBack(t());
          await b.apply(other!, plans[to]!);
          expect(synced).toBe(await b.readBack(other!));
          expect(synced).toBe(b.renderCanonical(plans[to]!));
          // Nothing left to do afterwards.
          const again = await b.sync(t(), plans[to]!, plans[to]!);
          expect(again.mode).toBe('incremental');
          expect(again.size.count).toBe(0);
        });
      }

      it('sync without a previous plan or after a settings change is full, and says why', async () => {
        const r = await b.sync(t(), undefined, plans.base!);
        expect(r.mode).toBe('full');
        expect(r.reason).toMatch(/no previous plan/);
        const other = compile(base, { ...SETTINGS, masqueradeBit: 13 });
        const r2 = await b.sync(t(), plans.base!, other);
        expect(r2.mode).toBe('full');
        expect(r2.reason).toMatch(/settings/);
        expect((await b.verify(t(), other)).ok).toBe(true);
      });

      it('drift: a deleted map element is reported exactly, and sync falls back to full', async () => {
        await b.apply(t(), plans.base!);
        nftIn(t(), ['delete', 'element', 'ip', 'kube-proxy', 'service-ips', '{ 10.96.0.10 . tcp . 80 }']);
        const v = await b.verify(t(), plans.base!);
        expect(v.ok).toBe(false);
        expect(v.differences).toEqual([{ kind: 'missing', object: 'map service-ips element 10.96.0.10 . tcp . 80 : goto service-LV5ZVUGQ-ns1/web/tcp/p80' }]);
        const r = await b.sync(t(), plans.base!, plans.added!);
        expect(r.mode).toBe('full');
        expect(r.reason).toMatch(/^drift: .*1 difference.*service-ips element 10.96.0.10/);
        expect((await b.verify(t(), plans.added!)).ok).toBe(true);
      });

      it('drift: a deleted rule is reported as a changed chain', async () => {
        await b.apply(t(), plans.base!);
        const chain = 'endpoint-ZIWBCVVC-ns1/web/tcp/p80__10.1.1.1/8080';
        const listing = nftIn(t(), ['-a', 'list', 'chain', 'ip', 'kube-proxy', chain]);
        const handle = /dnat to 10\.1\.1\.1:8080 # handle (\d+)/.exec(listing)![1]!;
        nftIn(t(), ['delete', 'rule', 'ip', 'kube-proxy', chain, 'handle', handle]);
        const v = await b.verify(t(), plans.base!);
        expect(v.ok).toBe(false);
        expect(v.differences).toHaveLength(1);
        expect(v.differences[0]).toMatchObject({ kind: 'changed', object: `chain ${chain}` });
        expect(v.differences[0]!.detail).toBe('- meta l4proto tcp dnat to 10.1.1.1:8080');
        const r = await b.sync(t(), plans.base!, plans.base!);
        expect(r.mode).toBe('full');
        expect((await b.verify(t(), plans.base!)).ok).toBe(true);
      });

      it('a script with an error leaves the ruleset byte-for-byte unchanged', async () => {
        await b.apply(t(), plans.base!);
        const before = nftIn(t(), ['list', 'ruleset']);
        const bad = `${b.renderText(plans.added!)}add rule ip kube-proxy services jump no-such-chain\n`;
        const r = await runTool(t(), 'nft', ['-f', '-'], { input: bad, allowFailure: true });
        expect(r.code).not.toBe(0);
        expect(nftIn(t(), ['list', 'ruleset'])).toBe(before);
      });
    });
  }
});

describe.skipIf(!canUseKernel())('ip6 family on a real kernel', () => {
  let ns: NsTarget | undefined;
  beforeAll(() => {
    ns = makeNetns();
  });
  afterAll(() => deleteNetns(ns));

  const plan6 = compile(
    {
      services: [
        svc('ns1', 'web6', 'fd00:96::10', {
          type: 'LoadBalancer',
          ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30090 }],
          loadBalancerIPs: ['2001:db8::10'],
          loadBalancerSourceRanges: ['2001:db8:1::/48', '2001:db8:2::/48'],
          sessionAffinity: { timeoutSeconds: 300 },
        }),
      ],
      endpointSlices: [{ ...slice('ns1', 'web6', [ep('fd00:1::1', 'node-a'), ep('fd00:1::2')]), addressType: 'IPv6' }],
      nodes: [{ name: 'node-a', addresses: [{ type: 'InternalIP', address: 'fd00:ff::10' }] }],
    },
    { ...SETTINGS, clusterCIDR: 'fd00:1::/64' },
    'IPv6',
  );

  for (const layout of ['flat', 'kube-proxy'] as const) {
    it(`${layout}: apply, verify, trace`, async () => {
      const b = createNftBackend({ layout });
      await b.apply(ns!, plan6);
      expect(await b.verify(ns!, plan6)).toEqual({ ok: true, differences: [] });
      expect(await b.readBack(ns!)).toBe(b.renderCanonical(plan6));
      expect(b.trace(plan6, { src: 'fd00:1::99', dst: 'fd00:96::10', dport: 80, protocol: 'TCP', origin: 'forward' }).verdict).toEqual({
        kind: 'endpoints',
        endpoints: ['[fd00:1::1]:8080', '[fd00:1::2]:8080'],
        masquerade: false,
      });
      expect(b.trace(plan6, { src: '2001:db8:3::1', dst: '2001:db8::10', dport: 80, protocol: 'TCP', origin: 'forward' }).verdict).toEqual({ kind: 'dropped' });
      await b.flush(ns!);
      expect(await b.readBack(ns!)).toBe('');
    });
  }
});
