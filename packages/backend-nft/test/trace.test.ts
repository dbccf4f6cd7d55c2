import { describe, expect, it } from 'vitest';
import type { TracePacket } from '@kpb/backend';
import { createNftBackend } from '../src/index.ts';
import { smallPlan } from './fixtures.ts';

const plan = smallPlan();
const pkt = (src: string, dst: string, dport: number, origin: TracePacket['origin'] = 'forward', protocol: TracePacket['protocol'] = 'TCP'): TracePacket => ({
  src,
  dst,
  dport,
  protocol,
  origin,
});
const NODE = '192.168.1.10';
const POD = '10.1.2.99';
const OUTSIDE = '172.16.0.5';

for (const layout of ['flat', 'kube-proxy'] as const) {
  describe(`trace (${layout})`, () => {
    const b = createNftBackend({ layout });
    const v = (p: TracePacket) => b.trace(plan, p).verdict;
    const web = ['10.1.1.1:8080', '10.1.2.1:8080', '10.1.2.2:8080'];

    it('ClusterIP from a pod: every endpoint, no masquerade', () => {
      expect(v(pkt(POD, '10.96.0.10', 80))).toEqual({ kind: 'endpoints', endpoints: web, masquerade: false });
    });
    it('ClusterIP from outside the cluster CIDR: masqueraded', () => {
      expect(v(pkt(OUTSIDE, '10.96.0.10', 80))).toEqual({ kind: 'endpoints', endpoints: web, masquerade: true });
    });
    it('ClusterIP from the node itself', () => {
      expect(v(pkt(NODE, '10.96.0.10', 80, 'local'))).toEqual({ kind: 'endpoints', endpoints: web, masquerade: true });
    });
    it('UDP service', () => {
      expect(v(pkt(POD, '10.96.0.53', 53, 'forward', 'UDP'))).toEqual({ kind: 'endpoints', endpoints: ['10.1.2.53:5353'], masquerade: false });
      // A port the ClusterIP does not serve: cluster-ips-check rejects it.
      expect(v(pkt(POD, '10.96.0.53', 53, 'forward', 'TCP'))).toEqual({ kind: 'rejected' });
    });
    it('hairpin: an endpoint reaching its own service may be masqueraded', () => {
      expect(v(pkt('10.1.2.1', '10.96.0.10', 80))).toEqual({ kind: 'endpoints', endpoints: web, masquerade: true });
    });
    it('other ports of a ClusterIP are rejected (from pods and from the node); other addresses untouched', () => {
      expect(v(pkt(POD, '10.96.0.10', 81))).toEqual({ kind: 'rejected' });
      expect(v(pkt(NODE, '10.96.0.10', 81, 'local'))).toEqual({ kind: 'rejected' });
      expect(v(pkt(POD, '10.200.0.1', 80))).toEqual({ kind: 'untouched' });
      // No service CIDR known: an unused address of it is untouched too.
      expect(v(pkt(POD, '10.96.9.9', 80))).toEqual({ kind: 'untouched' });
    });
    it('with a service CIDR: an address of it that no service holds is dropped', () => {
      const withCIDR = { ...plan, serviceCIDRs: ['10.96.0.0/12'] };
      expect(b.trace(withCIDR, pkt(POD, '10.96.9.9', 80)).verdict).toEqual({ kind: 'dropped' });
      expect(b.trace(withCIDR, pkt(NODE, '10.96.9.9', 80, 'local')).verdict).toEqual({ kind: 'dropped' });
      expect(b.trace(withCIDR, pkt(POD, '10.96.0.10', 80)).verdict).toEqual({ kind: 'endpoints', endpoints: web, masquerade: false });
      expect(b.trace(withCIDR, pkt(POD, '10.200.0.1', 80)).verdict).toEqual({ kind: 'untouched' });
    });
    it('with NodePort addresses: only they accept NodePorts', () => {
      const secondary = '192.168.1.12';
      const listed = { ...plan, nodeIPs: ['192.168.1.10', secondary], nodePortIPs: ['192.168.1.10'] };
      expect(b.trace(listed, pkt(OUTSIDE, NODE, 30080)).verdict).toEqual({ kind: 'endpoints', endpoints: ['10.1.1.20:8080'], masquerade: false });
      expect(b.trace(listed, pkt(OUTSIDE, secondary, 30080)).verdict).toEqual({ kind: 'untouched' });
      expect(b.trace(listed, pkt(OUTSIDE, secondary, 30082)).verdict).toEqual({ kind: 'untouched' });
      expect(b.trace(listed, pkt(OUTSIDE, NODE, 30082)).verdict).toEqual({ kind: 'rejected' });
      // Every local address ('all'): the secondary one too.
      expect(b.trace({ ...listed, nodePortIPs: 'all' }, pkt(OUTSIDE, secondary, 30080)).verdict).toEqual({ kind: 'endpoints', endpoints: ['10.1.1.20:8080'], masquerade: false });
    });
    it('no endpoints: REJECT (ClusterIP and NodePort)', () => {
      expect(v(pkt(POD, '10.96.0.40', 80))).toEqual({ kind: 'rejected' });
      expect(v(pkt(OUTSIDE, NODE, 30082))).toEqual({ kind: 'rejected' });
      expect(v(pkt(NODE, NODE, 30082, 'local'))).toEqual({ kind: 'rejected' });
    });
    it('internalTrafficPolicy Local without local endpoints: DROP', () => {
      expect(v(pkt(POD, '10.96.0.41', 80))).toEqual({ kind: 'dropped' });
    });
    it('NodePort with externalTrafficPolicy Local: local endpoint, source kept', () => {
      expect(v(pkt(OUTSIDE, NODE, 30080))).toEqual({ kind: 'endpoints', endpoints: ['10.1.1.20:8080'], masquerade: false });
    });
    it('NodePort Local from the node: short-circuit to every endpoint, masqueraded', () => {
      expect(v(pkt(NODE, NODE, 30080, 'local'))).toEqual({ kind: 'endpoints', endpoints: ['10.1.1.20:8080', '10.1.2.20:8080'], masquerade: true });
    });
    it('NodePort Local without local endpoints: outside DROP, pods short-circuit', () => {
      expect(v(pkt(OUTSIDE, NODE, 30083))).toEqual({ kind: 'dropped' });
      expect(v(pkt(POD, NODE, 30083))).toEqual({ kind: 'endpoints', endpoints: ['10.1.2.42:8080'], masquerade: false });
    });
    it('NodePort only on local addresses (fib daddr type local), not loopback', () => {
      expect(v(pkt(OUTSIDE, '192.168.1.11', 30080))).toEqual({ kind: 'untouched' });
    });
    it('LoadBalancer with source ranges: firewall drops, allowed sources get every endpoint, masqueraded', () => {
      expect(v(pkt(OUTSIDE, '198.51.100.10', 80))).toEqual({ kind: 'dropped' });
      expect(v(pkt('203.0.113.9', '198.51.100.10', 80))).toEqual({ kind: 'endpoints', endpoints: ['10.1.1.30:8080', '10.1.2.30:8080'], masquerade: true });
      // NodePorts are not subject to source ranges.
      expect(v(pkt(OUTSIDE, NODE, 30081))).toEqual({ kind: 'endpoints', endpoints: ['10.1.1.30:8080', '10.1.2.30:8080'], masquerade: true });
      // External IP.
      expect(v(pkt(OUTSIDE, '192.0.2.7', 80))).toEqual({ kind: 'endpoints', endpoints: ['10.1.1.30:8080', '10.1.2.30:8080'], masquerade: true });
    });
    it('path names chains and rules', () => {
      const r = b.trace(plan, pkt(POD, '10.96.0.10', 80));
      expect(r.path[0]).toMatch(/^filter-prerouting-pre-dnat: ct state new jump firewall-check/);
      expect(r.path).toContain('filter-forward: ct state new jump cluster-ips-check');
      expect(r.path.some((s) => s.startsWith('services: ip daddr . meta l4proto . th dport vmap @service-ips'))).toBe(true);
      expect(r.path.some((s) => s.includes('dnat to 10.1.2.2:8080'))).toBe(true);
    });
  });
}
