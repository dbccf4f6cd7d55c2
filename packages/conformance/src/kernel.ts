/** Running the flow table with real packets through a virtual cluster whose node holds a backend's rules. */
import type { ProbeResult, VirtualCluster } from '@kpb/testing';
import { HOSTS, sourceAddress, type FlowRow } from './flows.ts';

/** How many attempts a row makes: enough for every endpoint to show a fair share. */
function attemptsFor(row: FlowRow): number {
  switch (row.expect.kind) {
    case 'endpoints':
      return 30 * row.expect.pods.length;
    case 'sticky':
      return 30;
    default:
      return 4;
  }
}

export async function probeRow(vc: VirtualCluster, row: FlowRow): Promise<ProbeResult> {
  const from = row.from === 'allowed-client' ? 'client' : row.from;
  return vc.probe({
    from,
    ...(row.from === 'allowed-client' ? { src: HOSTS.allowedClientIP } : {}),
    proto: row.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp',
    dst: row.dst,
    port: row.port,
    count: attemptsFor(row),
    timeoutMs: row.expect.kind === 'dropped' ? 400 : 1500,
    concurrency: row.expect.kind === 'sticky' ? 1 : 16,
  });
}

/** Undefined when the probe result satisfies the row, else what went wrong. */
export function judgeProbe(row: FlowRow, r: ProbeResult): string | undefined {
  const count = r.attempts;
  const answered = Object.entries(r.answers);
  const total = answered.reduce((s, [, n]) => s + n, 0);
  const summary = `answers ${JSON.stringify(r.answers)}, refused ${r.refused}, timeouts ${r.timeouts}, errors ${JSON.stringify(r.errors)}`;
  switch (row.expect.kind) {
    case 'endpoints':
    case 'sticky': {
      const want = row.expect.pods;
      if (total !== count) return `every attempt should be answered: ${summary}`;
      const wrongPort = Object.entries(r.ports).find(([, ports]) => ports.some((p) => p !== row.targetPort));
      if (wrongPort) return `${wrongPort[0]} was reached on port(s) ${wrongPort[1].join(', ')}, expected target port ${row.targetPort}: ${summary}`;
      const pods = answered.map(([pod]) => pod);
      const stray = pods.filter((p) => !want.includes(p));
      if (stray.length) return `pods that must receive nothing answered (${stray.join(', ')}): ${summary}`;
      if (row.expect.kind === 'sticky') {
        return pods.length === 1 ? undefined : `affinity broken: ${pods.length} different pods answered one client: ${summary}`;
      }
      const fair = Math.floor(count / want.length / 3);
      for (const pod of want) {
        const n = r.answers[pod] ?? 0;
        if (n < fair) return `${pod} got ${n} of ${count} attempts, less than a fair share (${fair}): ${summary}`;
      }
      // The node's own traffic takes whatever source the kernel picks; the rows check it in the tracer.
      if (row.from !== 'node') {
        const sent = sourceAddress(row.from);
        const seen = new Set(Object.values(r.sources).flat());
        const masqueraded = ![...seen].every((s) => s === sent);
        if (masqueraded !== row.expect.masquerade) {
          return `expected ${row.expect.masquerade ? 'masqueraded' : 'the original source'} (sent from ${sent}), pods saw ${[...seen].join(', ')}`;
        }
      }
      return undefined;
    }
    case 'refused':
      if (r.refused !== count) return `expected every attempt refused: ${summary}`;
      return r.refusedFastMs < 500 ? undefined : `refused, but only after ${r.refusedFastMs} ms (should be at once)`;
    case 'dropped':
      return r.timeouts === count ? undefined : `expected every attempt to time out (dropped): ${summary}`;
  }
}
