import { describe, expect, it } from 'vitest';
import { createIptablesBackend, parseRules, traceRules } from '../src/index.ts';
import { NODE_IP, mixCluster, oneServiceCluster, planOf } from './fixtures.ts';

const backend = createIptablesBackend();
const mix = planOf(mixCluster());

describe('tracer on the rendered text', () => {
  it('balances a cluster IP over every endpoint, masquerading off-cluster sources', () => {
    const plan = planOf(oneServiceCluster());
    const fromPod = backend.trace(plan, { src: '10.1.2.3', protocol: 'TCP', dst: '172.30.0.41', dport: 80, origin: 'forward' });
    expect(fromPod.verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.1:80', '10.180.0.2:80', '10.180.0.3:80'], masquerade: false });
    expect(fromPod.path[0]).toMatch(/^nat -A PREROUTING .* -j KUBE-SERVICES$/);
    const outside = backend.trace(plan, { src: '192.0.2.1', protocol: 'TCP', dst: '172.30.0.41', dport: 80, origin: 'forward' });
    expect(outside.verdict).toMatchObject({ kind: 'endpoints', masquerade: true });
    const hairpin = backend.trace(plan, { src: '10.180.0.2', protocol: 'TCP', dst: '172.30.0.41', dport: 80, origin: 'forward' });
    expect(hairpin.verdict).toMatchObject({ kind: 'endpoints', masquerade: true });
    expect(backend.trace(plan, { src: '10.1.2.3', protocol: 'UDP', dst: '172.30.0.41', dport: 80, origin: 'forward' }).verdict).toEqual({ kind: 'untouched' });
    expect(backend.trace(plan, { src: '10.1.2.3', protocol: 'TCP', dst: '172.30.0.41', dport: 81, origin: 'forward' }).verdict).toEqual({ kind: 'untouched' });
  });
  it('rejects a service without endpoints, drops internal Local without local endpoints', () => {
    expect(backend.trace(mix, { src: '10.1.2.3', protocol: 'TCP', dst: '172.30.0.46', dport: 80, origin: 'forward' }).verdict).toEqual({ kind: 'rejected' });
    expect(backend.trace(mix, { src: '10.1.2.3', protocol: 'TCP', dst: '172.30.0.48', dport: 80, origin: 'forward' }).verdict).toEqual({ kind: 'dropped' });
    expect(backend.trace(mix, { src: '192.0.2.1', protocol: 'TCP', dst: NODE_IP, dport: 3007, origin: 'forward' }).verdict).toEqual({ kind: 'rejected' });
    expect(backend.trace(mix, { src: '192.0.2.1', protocol: 'TCP', dst: '192.168.99.77', dport: 80, origin: 'forward' }).verdict).toEqual({ kind: 'rejected' });
  });
  it('external traffic policy Local: outside → local endpoints, unmasqueraded; node and pods → all', () => {
    const outside = backend.trace(mix, { src: '192.0.2.1', protocol: 'TCP', dst: NODE_IP, dport: 3001, origin: 'forward' });
    expect(outside.verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.2:80'], masquerade: false });
    const lb = backend.trace(mix, { src: '192.0.2.1', protocol: 'TCP', dst: '1.2.3.4', dport: 80, origin: 'forward' });
    expect(lb.verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.2:80'], masquerade: false });
    const node = backend.trace(mix, { src: NODE_IP, protocol: 'TCP', dst: '1.2.3.4', dport: 80, origin: 'local' });
    expect(node.verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.22:80', '10.180.0.2:80'], masquerade: true });
    const pod = backend.trace(mix, { src: '10.9.9.9', protocol: 'TCP', dst: '192.168.99.22', dport: 80, origin: 'forward' });
    expect(pod.verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.22:80', '10.180.0.2:80'], masquerade: false });
    // No local endpoint: dropped from outside, served from the node itself.
    expect(backend.trace(mix, { src: '192.0.2.1', protocol: 'TCP', dst: NODE_IP, dport: 3003, origin: 'forward' }).verdict).toEqual({ kind: 'dropped' });
    expect(backend.trace(mix, { src: NODE_IP, protocol: 'TCP', dst: NODE_IP, dport: 3003, origin: 'local' }).verdict).toEqual({
      kind: 'endpoints',
      endpoints: ['10.180.0.3:80'],
      masquerade: true,
    });
  });
  it('load-balancer source ranges: admitted ranges reach endpoints (masqueraded), others are dropped', () => {
    const ok = backend.trace(mix, { src: '203.0.113.5', protocol: 'UDP', dst: '5.6.7.8', dport: 53, origin: 'forward' });
    expect(ok.verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.55:53', '10.180.0.56:53', '10.180.0.5:53'], masquerade: true });
    const denied = backend.trace(mix, { src: '198.51.100.1', protocol: 'UDP', dst: '5.6.7.8', dport: 53, origin: 'forward' });
    expect(denied.verdict).toEqual({ kind: 'dropped' });
    expect(denied.path.some((p) => p.includes('KUBE-PROXY-FIREWALL -d 5.6.7.8/32'))).toBe(true);
    // The LB IP itself as source (allowFromNode).
    expect(backend.trace(mix, { src: '5.6.7.8', protocol: 'UDP', dst: '5.6.7.8', dport: 53, origin: 'forward' }).verdict.kind).toBe('endpoints');
  });
  it('affinity rules do not match a first packet', () => {
    const t = backend.trace(mix, { src: '10.1.1.1', protocol: 'TCP', dst: '172.30.0.41', dport: 80, origin: 'forward' });
    expect(t.verdict).toEqual({ kind: 'endpoints', endpoints: ['10.180.0.11:80', '10.180.0.1:80'], masquerade: false });
  });
  it('runs on the text: a broken rule breaks the trace', () => {
    const text = backend.renderText(planOf(oneServiceCluster())).replace('--to-destination 10.180.0.2:80', '--to-destination 10.180.0.99:80');
    const t = traceRules(parseRules(text), { src: '10.1.2.3', protocol: 'TCP', dst: '172.30.0.41', dport: 80, origin: 'forward' }, [NODE_IP]);
    expect(t.verdict).toMatchObject({ endpoints: ['10.180.0.1:80', '10.180.0.3:80', '10.180.0.99:80'] });
  });

  it('localhost NodePorts: served from the node on 127.0.0.1 (DNAT passes KUBE-FIREWALL); untouched when turned off; primary-only NodePorts skip other node IPs', () => {
    const fromNode = { src: '127.0.0.1', protocol: 'TCP', dst: '127.0.0.1', dport: 3001, origin: 'local' } as const;
    expect(backend.trace(mix, fromNode).verdict).toMatchObject({ kind: 'endpoints', endpoints: ['10.180.0.22:80', '10.180.0.2:80'] });
    expect(backend.trace(mix, { ...fromNode, src: NODE_IP }).verdict).toMatchObject({ kind: 'endpoints' });
    expect(backend.trace(planOf(mixCluster(), { localhostNodePorts: false }), fromNode).verdict).toEqual({ kind: 'untouched' });
    const primaryOnly = planOf(mixCluster(), { nodePortAddresses: ['10.99.0.0/16'] });
    expect(backend.trace(primaryOnly, { src: '192.0.2.1', protocol: 'TCP', dst: NODE_IP, dport: 3001, origin: 'forward' }).verdict).toEqual({ kind: 'untouched' });
  });
});
