/**
 * The CLI against a real kernel, in namespaces this test creates and deletes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canUseKernel } from '@kpb/testing';
import { databaseServiceYaml, smallClusterYaml } from '@kpb/examples';
import { kpb } from './run.ts';
import { selectableCases } from '../src/backends.ts';

const dir = mkdtempSync(join(tmpdir(), 'kpb-cli-kernel-'));
const made: string[] = [];
let counter = 0;

function sh(argv: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}
function netns(): string {
  const name = `kpb-cli-${process.pid}-${counter++}`;
  const r = sh(['ip', 'netns', 'add', name]);
  if (r.code !== 0) throw new Error(`ip netns add ${name}: ${r.err}`);
  made.push(name);
  return name;
}
function inNs(ns: string, argv: string[], input?: string) {
  return sh(['ip', 'netns', 'exec', ns, ...argv], input);
}
/** The whole firewall state of a namespace, without iptables-save's timestamp comments. */
function firewallState(ns: string): string {
  const ipt = inNs(ns, ['iptables-save']).out.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  const legacy = inNs(ns, ['iptables-legacy-save']).out.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  return `${ipt}\n--legacy--\n${legacy}\n--nft--\n${inNs(ns, ['nft', 'list', 'ruleset']).out}`;
}

afterAll(() => {
  for (const ns of made) sh(['ip', 'netns', 'del', ns]);
});

const BACKENDS = ['iptables', 'nft', 'nftnl'];

describe.skipIf(!canUseKernel())('kpb on a real kernel', () => {
  it('compile output for iptables is accepted by iptables-restore --test', () => {
    const ns = netns();
    for (const input of [databaseServiceYaml, smallClusterYaml]) {
      const r = kpb(['compile', '--backend', 'iptables', '--input', input]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('KUBE-SERVICES');
      const t = inNs(ns, ['iptables-restore', '--test'], r.stdout);
      expect(t.code, t.err).toBe(0);
    }
  });

  it('compile output for nft is accepted by nft -c -f', () => {
    const ns = netns();
    const r = kpb(['compile', '--backend', 'nft', '--input', smallClusterYaml]);
    expect(r.code, r.stderr).toBe(0);
    const t = inNs(ns, ['nft', '-c', '-f', '-'], r.stdout);
    expect(t.code, t.err).toBe(0);
  });

  it.each(BACKENDS)('%s: bad input exits non-zero, names object and field, and leaves the kernel byte-for-byte unchanged', (backend) => {
    const ns = netns();
    // Something to lose: a good apply first, plus a foreign rule.
    expect(kpb(['apply', '--backend', backend, '--input', smallClusterYaml, '--netns', ns]).code).toBe(0);
    inNs(ns, ['iptables', '-t', 'filter', '-A', 'INPUT', '-s', '198.18.0.1', '-j', 'ACCEPT']);
    const before = firewallState(ns);
    const bad = join(dir, `bad-${backend}.json`);
    writeFileSync(
      bad,
      JSON.stringify([
        { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'ok' }, spec: { clusterIP: '10.96.0.7', ports: [{ port: 80 }] } },
        { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'web' }, spec: { clusterIP: '10.96.0.300', ports: [{ port: 80 }] } },
      ]),
    );
    const r = kpb(['apply', '--backend', backend, '--input', bad, '--netns', ns]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Service shop/web: spec.clusterIP "10.96.0.300" is not an IP address');
    const evil = join(dir, `evil-${backend}.json`);
    writeFileSync(
      evil,
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'x"\n-A INPUT -j ACCEPT\n#' }, spec: { clusterIP: '10.96.0.9', ports: [{ port: 80 }] } }),
    );
    const r2 = kpb(['apply', '--backend', backend, '--input', evil, '--netns', ns]);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toContain('metadata.name');
    expect(firewallState(ns)).toBe(before);
  });

  it.each(BACKENDS)('%s: generate 10k services, apply, verify, flush', (backend) => {
    const ns = netns();
    const file = join(dir, 'c10k.json');
    if (!existsSync(file)) expect(kpb(['generate', '--services', '10000', '--endpoints', '3', '--seed', '1', '--output', file]).code).toBe(0);
    const common = ['--backend', backend, '--netns', ns, '--node', 'node-0', '--cluster-cidr', '10.128.0.0/9'];
    const a = kpb(['apply', '--input', file, ...common]);
    expect(a.code, a.stderr).toBe(0);
    for (const stage of ['parse', 'compile', 'render', 'kernel', 'total']) expect(a.stdout).toMatch(new RegExp(`^\\s+${stage}\\s+[\\d.]+ ms`, 'm'));
    const v = kpb(['verify', '--input', file, ...common]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const f = kpb(['flush', ...common]);
    expect(f.code, f.stderr).toBe(0);
    expect(inNs(ns, ['iptables-save']).out).not.toContain('KUBE-');
    expect(inNs(ns, ['nft', 'list', 'ruleset']).out).not.toMatch(/kube-proxy|KUBE-/);
    const v2 = kpb(['verify', '--input', file, ...common]);
    expect(v2.code).toBe(1);
  }, 240_000);

  /** kpb's objects in either family, as each tool lists them (`KUBE-` chains, `kube-proxy` tables). */
  const kpbObjects = (ns: string): string[] =>
    ['iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save']
      .filter((tool) => inNs(ns, [tool]).out.includes('KUBE-'))
      .concat(/kube-proxy|KUBE-/.test(inNs(ns, ['nft', 'list', 'ruleset']).out) ? ['nft list ruleset'] : []);

  it.each(selectableCases().map((c) => [c.id, c] as const))('%s: --family dual applies both families in one command, verifies, flushes both', (_id, c) => {
    const ns = netns();
    const file = join(dir, 'dual.json');
    if (!existsSync(file)) expect(kpb(['generate', '--services', '1000', '--endpoints', '3', '--family', 'dual', '--output', file]).code).toBe(0);
    const flags = ['--backend', c.flags.backend, ...(c.flags.layout ? ['--layout', c.flags.layout] : []), ...(c.flags.iptables ? ['--iptables', c.flags.iptables] : [])];
    const common = [...flags, '--netns', ns, '--node', 'node-0', '--cluster-cidr', '10.128.0.0/9,fd00:10:128::/64'];
    const a = kpb(['apply', '--input', file, ...common]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('IPv4 + IPv6');
    const listed = c.backend === 'iptables' ? inNs(ns, [`ip6tables-${c.variant === 'legacy' ? 'legacy' : 'nft'}-save`, '-t', 'nat']).out : inNs(ns, ['nft', 'list', 'table', 'ip6', 'kube-proxy']).out;
    expect(listed).toMatch(c.backend === 'iptables' ? /KUBE-SVC-/ : /fd00:10:96::/);
    const v = kpb(['verify', '--input', file, ...common]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('IPv4 + IPv6');
    // Without --family the input's families are used (this input holds both).
    const f = kpb(['flush', ...common]);
    expect(f.code, f.stderr).toBe(0);
    expect(kpbObjects(ns)).toEqual([]);
    const v2 = kpb(['verify', '--input', file, ...common, '--family', 'ipv6']);
    expect(v2.code).toBe(1);
    expect(v2.stdout).not.toContain('IPv4');
  }, 240_000);
});
