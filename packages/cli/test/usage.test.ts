/** The CLI's shape: help, refusals, clear errors. No kernel needed. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kpb } from './run.ts';

const dir = mkdtempSync(join(tmpdir(), 'kpb-cli-'));
const COMMANDS = ['generate', 'compile', 'apply', 'sync', 'verify', 'trace', 'flush', 'report', 'deploy'];
const COMMON = ['--backend', '--netns', '--host', '--node', '--cluster-cidr', '--masquerade-all', '--masquerade-bit'];

describe('kpb usage', () => {
  it('lists every command in --help', () => {
    const r = kpb(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(c);
  });

  it.each(['compile', 'apply', 'sync', 'verify', 'flush'])('%s --help shows every common flag', (cmd) => {
    const r = kpb([cmd, '--help']);
    expect(r.code).toBe(0);
    for (const flag of COMMON) expect(r.stdout).toContain(flag);
  });

  it.each([['apply', '--input', 'x.json'], ['sync', '--to', 'x.json'], ['flush']])('%s refuses to touch the host without --netns or --host', (...args) => {
    const r = kpb(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to change the host's own firewall: give --netns NAME/);
  });

  it('says when the namespace does not exist', () => {
    const r = kpb(['flush', '--netns', 'kpb-no-such-ns-xyz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('network namespace kpb-no-such-ns-xyz does not exist');
  });

  it('rejects an unknown backend and a bad masquerade bit', () => {
    expect(kpb(['compile', '--backend', 'pf', '--input', 'x']).code).toBe(2);
    const r = kpb(['flush', '--netns', 'x', '--masquerade-bit', '40']);
    expect(r.code).toBe(2);
  });

  it('names object and field for bad input, exit 2, no stack trace', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'web' }, spec: { clusterIP: '10.96.0.300', ports: [{ port: 80 }] } }),
    );
    const r = kpb(['compile', '--input', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Service shop/web: spec.clusterIP "10.96.0.300" is not an IP address');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects a name carrying quotes and a newline', () => {
    const file = join(dir, 'evil.json');
    writeFileSync(
      file,
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name: 'web"\n-A INPUT -j ACCEPT' }, spec: { clusterIP: '10.96.0.3', ports: [{ port: 80 }] } }),
    );
    const r = kpb(['compile', '--input', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Service shop\/.*metadata\.name/);
    expect(r.stdout).toBe('');
  });

  it('generates deterministically per seed', () => {
    const a = kpb(['generate', '--services', '50', '--seed', '7']);
    const b = kpb(['generate', '--services', '50', '--seed', '7']);
    const c = kpb(['generate', '--services', '50', '--seed', '8']);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toBe(c.stdout);
    expect(JSON.parse(a.stdout).kind).toBe('List');
  });
});

describe('kpb deploy and report --collect', () => {
  it('deploy manifests prints the YAML of the Job for the named nodes', () => {
    const r = kpb(['deploy', 'manifests', '--nodes', 'node-a,node-b', '--image', 'registry.example/kpb-bench:1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^kind: Job$/m);
    expect(r.stdout).toMatch(/^ +completions: 2$/m);
    expect(r.stdout).toContain('image: registry.example/kpb-bench:1');
    expect(kpb(['deploy', 'manifests', '--image', 'x']).code).toBe(2);
  });

  it('report --collect wants -o and no folders; report wants folders or --collect', () => {
    expect(kpb(['report', '--collect', '-']).stderr).toContain('--collect needs -o DIR');
    expect(kpb(['report', '--collect', '-', 'dir', '-o', 'x']).code).toBe(2);
    expect(kpb(['report']).stderr).toContain('give result folders, or --collect LOG');
  });
});
