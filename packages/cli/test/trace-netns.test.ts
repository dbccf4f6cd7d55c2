/**
 * `kpb trace --netns` through the real command: kube-proxy's transcribed packet flows
 * (packages/conformance/kube-proxy/flows) traced in memory (--input) and through the rules a
 * namespace holds after `kpb apply --netns` (read back), for iptables, nft and nftnl; both must
 * give kube-proxy's answer, judged as the conformance parity test judges it. The namespaces are
 * this test's own (ip netns add), given the node's addresses, and deleted also on failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { TraceResult } from '@kpb/backend';
import { parseCluster } from '@kpb/model';
import { canUseKernel } from '@kpb/testing';
// The parity tests' own reader and judge (test code of @kpb/conformance, which depends on this package).
import { flowPacket, judgeKubeProxyFlow, readKubeProxyFlows, FLOWS_DIR } from '../../conformance/src/parity/flows.ts';
import { kpb, type Run } from './run.ts';

const KPB = fileURLToPath(new URL('../bin/kpb.js', import.meta.url));
/** kube-proxy's fake proxier (../../conformance/kube-proxy/README.md). */
const COMMON = ['--node', 'test-node', '--cluster-cidr', '10.0.0.0/8'];
/**
 * A few rows of each table (each trace is a node process of about a second; the parity test runs
 * every row through the tracers): hairpin, several endpoints, UDP, a port not served; NodePort,
 * LoadBalancer accepted and dropped by its source ranges, from a pod, from the node itself;
 * externalTrafficPolicy Local from a pod and from outside, to an external IP, an LB IP, a NodePort.
 */
const IPTABLES_FLOWS = FLOWS_DIR;
const NFTABLES_FLOWS = new URL('../flows-nftables/', FLOWS_DIR);
const IPTABLES = [['--backend', 'iptables']];
const NFTABLES = [['--backend', 'nft', '--layout', 'kube-proxy'], ['--backend', 'nftnl', '--layout', 'kube-proxy']];
/**
 * Each table with the cases of its kube-proxy mode and that mode's fake-proxier flags: iptables
 * mode's tables through iptables; nftables mode's (NodePorts on the primary IP, kpb's default
 * for nft and nftnl, and service CIDR 172.30.0.0/16) through nft and nftnl.
 */
const FLOW_TABLES: readonly (readonly [string, readonly number[], URL, readonly string[][], readonly string[]])[] = [
  ['cluster-ip-general', [1, 2, 5, 7], IPTABLES_FLOWS, IPTABLES, []],
  ['load-balancer', [1, 3, 5, 7, 9, 11], IPTABLES_FLOWS, IPTABLES, []],
  ['external-traffic-policy-local', [2, 4, 6], IPTABLES_FLOWS, IPTABLES, []],
  ['cluster-ip-general', [1, 2, 5, 6, 7], NFTABLES_FLOWS, NFTABLES, ['--service-cidr', '172.30.0.0/16']],
  ['node-ports', [0, 1, 2, 3], NFTABLES_FLOWS, NFTABLES, ['--service-cidr', '172.30.0.0/16']],
];
/** Traces run at once (each is a node process). */
const PARALLEL = 4;

const made: string[] = [];
afterAll(() => {
  for (const ns of made) spawnSync('ip', ['netns', 'del', ns], { timeout: 30_000 });
});

function sh(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

/** A namespace of this test's, its loopback up and holding the node's addresses (what the rules take as local). */
function nodeNamespace(nodeIPs: readonly string[]): string {
  const ns = `kpb-trace-${process.pid}-${made.length}`;
  sh(['ip', 'netns', 'add', ns]);
  made.push(ns);
  sh(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  for (const ip of nodeIPs) sh(['ip', 'netns', 'exec', ns, 'ip', 'address', 'add', `${ip}/32`, 'dev', 'lo']);
  return ns;
}

function kpbAsync(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KPB, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Run `jobs` at most PARALLEL at a time, results in order. */
async function inBatches<T>(jobs: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < jobs.length; i += PARALLEL) out.push(...(await Promise.all(jobs.slice(i, i + PARALLEL).map((j) => j()))));
  return out;
}

function traced(r: Run): TraceResult {
  if (r.code !== 0) return { verdict: { kind: 'untouched' }, path: [`kpb trace exited ${r.code}: ${r.stderr.trim()}`] };
  return JSON.parse(r.stdout) as TraceResult;
}

describe.skipIf(!canUseKernel())('kpb trace --netns: the rules a namespace holds, read back', () => {
  describe.each(FLOW_TABLES)("kube-proxy's flows: %s, rows %j (%s)", (name, rows, dir, cases, modeFlags) => {
    const file = fileURLToPath(new URL(`${name}.yaml`, dir));
    const nodeIPs = parseCluster(readFileSync(file, 'utf8'), file).cluster.nodes.flatMap((n) => (n.name === 'test-node' ? n.addresses.map((a) => a.address) : []));
    const flows = readKubeProxyFlows(name, dir).filter((_, i) => rows.includes(i));
    const flags = [...COMMON, ...modeFlags];

    it.each(cases.map((c) => [c.join(' '), c] as const))('%s: in memory and read back, kube-proxy’s answers', async (_, backend) => {
      const ns = nodeNamespace(nodeIPs);
      const applied = kpb(['apply', ...flags, ...backend, '--netns', ns, '--input', file]);
      expect(applied.code, applied.stderr).toBe(0);
      const packetArgs = flows.map((f) => ['--src', f.src, '--dst', f.dst, '--dport', String(f.dport), '--protocol', flowPacket(f).protocol, '--json']);
      const memory = await inBatches(packetArgs.map((p) => () => kpbAsync(['trace', ...flags, ...backend, '--input', file, ...p])));
      const readBack = await inBatches(packetArgs.map((p) => () => kpbAsync(['trace', ...backend, '--netns', ns, ...p])));
      const wrong = flows.flatMap((f, i) => {
        const m = judgeKubeProxyFlow(traced(memory[i]!), f);
        const r = judgeKubeProxyFlow(traced(readBack[i]!), f);
        return [...(m ? [`${f.name} (in memory): ${m}`] : []), ...(r ? [`${f.name} (read back from ${ns}): ${r}`] : [])];
      });
      expect(wrong).toEqual([]);
      // The read-back trace follows the same rules as the in-memory one.
      expect(readBack.map((r) => traced(r).path)).toEqual(memory.map((r) => traced(r).path));
    });
  });
});

describe.skipIf(!canUseKernel())('kpb trace --netns: what it cannot trace, and what it did not follow', () => {
  const lb = fileURLToPath(new URL('load-balancer.yaml', FLOWS_DIR));
  const packet = ['--src', '203.0.113.2', '--dst', '1.2.3.4', '--dport', '80'];
  /** A namespace holding kpb's rules for the LoadBalancer test's cluster. */
  function applied(backend: readonly string[]): string {
    const ns = nodeNamespace(['192.168.0.2']);
    const r = kpb(['apply', ...COMMON, ...backend, '--netns', ns, '--input', lb]);
    expect(r.code, r.stderr).toBe(0);
    return ns;
  }

  it.each([...IPTABLES, ...NFTABLES].map((c) => [c.join(' '), c] as const))('%s: a namespace without kpb rules has none to trace', (_, backend) => {
    const ns = nodeNamespace([]);
    const r = kpb(['trace', ...backend, '--netns', ns, ...packet]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no kpb rules in network namespace ${ns}`);
  });

  it('takes either --input or --netns, and says why', () => {
    const ns = nodeNamespace([]);
    const r = kpb(['trace', '--netns', ns, '--input', lb, ...packet]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--input and --netns/--host exclude each other');
  });

  it('iptables: names the rules kpb did not write, and refuses a kpb rule it would have to guess about', () => {
    const ns = applied(['--backend', 'iptables']);
    sh(['ip', 'netns', 'exec', ns, 'iptables-nft', '-t', 'nat', '-I', 'PREROUTING', '-s', '192.0.2.1/32', '-j', 'ACCEPT']);
    const r = kpb(['trace', '--backend', 'iptables', '--netns', ns, ...packet, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as TraceResult;
    expect(result.verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.1:80'], masquerade: true });
    expect(result.notes).toEqual([expect.stringContaining('nat PREROUTING holds 1 rule(s) kpb did not write, not traced: -A PREROUTING -s 192.0.2.1/32 -j ACCEPT')]);
    sh(['ip', 'netns', 'exec', ns, 'iptables-nft', '-t', 'nat', '-I', 'KUBE-SERVICES', '-i', 'eth9', '-j', 'RETURN']);
    const refused = kpb(['trace', '--backend', 'iptables', '--netns', ns, ...packet]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`cannot trace network namespace ${ns}: a kpb rule matches an interface`);
  });

  it.each([['nft'], ['nftnl']])('%s: refuses a rule in kpb’s table that it does not understand, and names other tables', (name) => {
    const backend = ['--backend', name, '--layout', 'kube-proxy'];
    const ns = applied(backend);
    sh(['ip', 'netns', 'exec', ns, 'nft', 'add table ip foreign']);
    const ok = kpb(['trace', ...backend, '--netns', ns, ...packet]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('note: other nftables tables may act on this packet too and were not traced: ip foreign');
    sh(['ip', 'netns', 'exec', ns, 'nft', 'insert rule ip kube-proxy services ip saddr 192.0.2.1 counter accept']);
    const refused = kpb(['trace', ...backend, '--netns', ns, ...packet]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`cannot trace network namespace ${ns}: table ip kube-proxy holds .*(does not understand|counter)`));
    expect(refused.stderr).toContain('counter');
  });
});
