/** Running the flow table through a backend's in-memory tracer. */
import type { Backend, TracePacket, TraceResult } from '@kpb/backend';
import { compileFamilies, nodeSettings, type Plan } from '@kpb/compiler';
import { parseCluster } from '@kpb/model';
import { readFileSync } from 'node:fs';
import { FIXTURE_CLUSTER_CIDR, FIXTURE_CLUSTER_CIDR_V6, FIXTURE_FILE, FIXTURE_NODE, SETTINGS_PROFILES, podIP, rowFamily, sourceAddress, type FlowRow, type SettingsProfile } from './flows.ts';

/** The fixture cluster's plans (IPv4 and IPv6: the fixture is dual-stack) under one of the rows' settings profiles. */
export function fixturePlans(profile: SettingsProfile = 'fixture'): Plan[] {
  const { cluster } = parseCluster(readFileSync(FIXTURE_FILE, 'utf8'), FIXTURE_FILE);
  const settings = nodeSettings({ nodeName: FIXTURE_NODE, ...SETTINGS_PROFILES[profile] });
  return compileFamilies(cluster, settings, ['IPv4', 'IPv6'], [FIXTURE_CLUSTER_CIDR, FIXTURE_CLUSTER_CIDR_V6]);
}

/** The packet a row sends, as the tracer takes it. */
export function tracePacket(row: FlowRow): TracePacket {
  return { src: sourceAddress(row.from, rowFamily(row)), protocol: row.protocol, dst: row.dst, dport: row.port, origin: row.from === 'node' ? 'local' : 'forward' };
}

/** An endpoint as the tracer names it: `ip:port`, `[ip]:port` for IPv6. */
const endpointOf = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The tracer's verdict kind for an outcome that is not a set of endpoints. */
const VERDICT_OF = { refused: 'rejected', dropped: 'dropped', untouched: 'untouched' } as const;

/** Check a row against the tracer: undefined when it holds, else a message with the rule path. */
export function checkTrace(backend: Backend, plans: readonly Plan[], row: FlowRow): string | undefined {
  const result: TraceResult = backend.trace(plans, tracePacket(row));
  const v = result.verdict;
  const fail = (what: string) => `${what}\n  path: ${result.path.join(' → ') || '(none)'}`;
  switch (row.expect.kind) {
    case 'endpoints':
    case 'sticky': {
      const want = row.expect.pods.map((p) => endpointOf(podIP(p, rowFamily(row)), row.targetPort)).sort();
      if (v.kind !== 'endpoints') return fail(`expected endpoints ${want.join(', ')}, got ${v.kind}`);
      const got = [...v.endpoints].sort();
      if (got.join(',') !== want.join(',')) return fail(`expected endpoints ${want.join(', ')}, got ${got.join(', ')}`);
      if (row.expect.kind === 'endpoints' && v.masquerade !== row.expect.masquerade) {
        return fail(`expected masquerade ${row.expect.masquerade}, got ${v.masquerade}`);
      }
      return undefined;
    }
    case 'refused':
    case 'dropped':
    case 'untouched':
      return v.kind === VERDICT_OF[row.expect.kind] ? undefined : fail(`expected ${row.expect.kind}, got ${JSON.stringify(v)}`);
  }
}
