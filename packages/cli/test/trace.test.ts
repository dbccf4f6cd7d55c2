/**
 * `kpb trace` through the real command, on inputs transcribed from kube-proxy's own tests
 * (packages/conformance/kube-proxy/flows): the command gives kube-proxy's answers.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { kpb } from './run.ts';

const LB = fileURLToPath(new URL('../../conformance/kube-proxy/flows/load-balancer.yaml', import.meta.url));
const ETP = fileURLToPath(new URL('../../conformance/kube-proxy/flows/external-traffic-policy-local.yaml', import.meta.url));
const COMMON = ['--node', 'test-node', '--cluster-cidr', '10.0.0.0/8'];

function traceJson(args: string[]): { verdict: { kind: string; endpoints?: string[]; masquerade?: boolean }; path: string[] } {
  const r = kpb(['trace', ...COMMON, ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ReturnType<typeof traceJson>;
}

describe('kpb trace', () => {
  for (const backend of [['--backend', 'iptables'], ['--backend', 'nft', '--layout', 'kube-proxy'], ['--backend', 'nftnl']]) {
    it(`answers kube-proxy's TestLoadBalancer flows (${backend.join(' ')})`, () => {
      // "accepted external to LB1": DNAT to the endpoint, masqueraded.
      expect(traceJson([...backend, '-i', LB, '--src', '203.0.113.2', '--dst', '1.2.3.4', '--dport', '80']).verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.1:80'], masquerade: true });
      // "blocked external to LB1": dropped by the source-range firewall.
      expect(traceJson([...backend, '-i', LB, '--src', '203.0.113.130', '--dst', '1.2.3.4', '--dport', '80']).verdict).toEqual({ kind: 'dropped' });
      // "external to LB IP hits only local endpoint, unmasqueraded" (TestExternalTrafficPolicyLocal).
      expect(traceJson([...backend, '-i', ETP, '--src', '203.0.113.2', '--dst', '1.2.3.4', '--dport', '80']).verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.2.1:80'], masquerade: false });
    });
  }

  it('prints the endpoints, their share and the rule path as text', () => {
    const r = kpb(['trace', ...COMMON, '-i', ETP, '--src', '10.0.0.2', '--dst', '172.30.0.41', '--dport', '80']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('DNAT to one of 2 endpoint(s):');
    expect(r.stdout).toContain('  10.180.0.1:80  50.0%');
    expect(r.stdout).toMatch(/path:\n {2}\S/);
  });

  it('refuses a bad packet with exit 2 and names the flag', () => {
    const bad = kpb(['trace', ...COMMON, '-i', LB, '--src', '10.0.0.2', '--dst', '1.2.3', '--dport', '80']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--dst "1.2.3" is not an IP address');
    expect(kpb(['trace', ...COMMON, '-i', LB, '--src', '10.0.0.2', '--dst', '1.2.3.4', '--dport', '70000']).stderr).toContain('--dport "70000" is not a port');
    expect(kpb(['trace', ...COMMON, '-i', LB, '--src', '10.0.0.2', '--dst', '1.2.3.4', '--dport', '80', '--protocol', 'icmp']).code).toBe(2);
  });
});
