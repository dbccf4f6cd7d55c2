/** Running the flow table with real packets through a virtual cluster whose node holds a backend's rules. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { execIn, type ProbeResult, type VirtualCluster } from '@kpb/testing';
import { HOSTS, rowFamily, sourceAddress, type FlowRow } from './flows.ts';

/** What one row's probe saw: the answers, and what the node's conntrack says it let through. */
interface RowOutcome {
  readonly probe: ProbeResult;
  /**
   * Connections to the row's dst:port that the node passed on un-NATed (conntrack entries whose
   * reply comes from that same address and port): the rules left them alone. Dropped or rejected
   * packets leave no entry (they never reach conntrack's confirm step), DNATed ones a pod's reply.
   */
  readonly unNATed: number;
}

/**
 * Give the node the fixture's secondary InternalIP, on the client link: the virtual cluster has
 * only the primary one. Addresses are the fixture's constants.
 */
export async function addSecondaryNodeIP(vc: VirtualCluster): Promise<void> {
  await execIn(vc.nodeNs, ['ip', 'addr', 'add', `${HOSTS.secondaryNodeIP}/24`, 'dev', 'kc0'], { timeoutMs: 10_000 });
}

/** @kpb/testing's echo server: answers `NAME <source> <port>`, exits when its stdin closes. */
const ECHO_SERVER = new URL('./agents/echo-server.mjs', `file://${createRequire(import.meta.url).resolve('@kpb/testing')}`).pathname;
/** The name the node's own server answers with (no pod may be called so). */
const NODE_SERVER = 'node';
const SERVER_READY_MS = 15_000;

/**
 * Start the node's own server on the fixture's NodePorts, so that NodePort traffic the rules
 * leave alone reaches an answering address (else the node's kernel resets it, and conntrack
 * forgets a connection refused at once). Resolves to its stop function, which kills it by pid.
 */
export function startNodeServer(vc: VirtualCluster): Promise<() => void> {
  const args = [ECHO_SERVER, '--name', NODE_SERVER, '--tcp', HOSTS.nodeServedPorts.join(','), '--max-seconds', '600'];
  // `ip netns exec` execs the command: the child's pid is the server's own.
  const child = spawn('ip', ['netns', 'exec', vc.nodeNs, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    child.stdin.destroy();
  };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      stop();
      reject(new Error(`the node's server: ${why}: ${err.trim()}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${SERVER_READY_MS} ms`), SERVER_READY_MS);
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString('utf8');
    });
    child.stdout.on('data', (b: Buffer) => {
      if (out.length < 4096) out += b.toString('utf8');
      if (/^ready$/m.test(out)) {
        clearTimeout(timer);
        resolve(stop);
      }
    });
    child.on('error', (e) => fail(`cannot start (${e.message})`));
    child.on('exit', (code) => fail(`exited (${code})`));
    child.stdin.on('error', () => {});
  });
}

/** conntrack's selection of the node's entries for the row's original destination. */
function conntrackFilter(row: FlowRow): string[] {
  return ['-f', rowFamily(row) === 'IPv6' ? 'ipv6' : 'ipv4', '-p', row.protocol.toLowerCase(), '--orig-dst', row.dst, '--orig-port-dst', String(row.port)];
}

/** Forget the node's connections to the row's destination, so the count after the probe is this row's. */
async function forgetConnections(vc: VirtualCluster, row: FlowRow): Promise<void> {
  // Exit status 1 with nothing to delete: not a failure.
  await execIn(vc.nodeNs, ['conntrack', '-D', ...conntrackFilter(row)], { allowFailure: true, timeoutMs: 10_000 });
}

/** The node's conntrack entries for the row's destination whose reply comes from that destination itself. */
async function countUnNATed(vc: VirtualCluster, row: FlowRow): Promise<number> {
  const res = await execIn(vc.nodeNs, ['conntrack', '-L', ...conntrackFilter(row)], { timeoutMs: 10_000 });
  let n = 0;
  for (const line of res.stdout.split('\n')) {
    // Original direction first, then the reply direction: the second src= / sport= are the reply's.
    const replySrc = [...line.matchAll(/\bsrc=(\S+)/g)][1]?.[1];
    const replySport = [...line.matchAll(/\bsport=(\d+)/g)][1]?.[1];
    if (replySrc === row.dst && replySport === String(row.port)) n++;
  }
  return n;
}

/**
 * TCP over IPv6 is refused only at the SYN's retransmission, ~1 s after connect() (measured here on
 * Linux 6.18 in these veth namespaces, with kpb's rules and with a bare `reject` rule alike: the
 * first ICMPv6 port-unreachable reaches the client (Icmp6InDestUnreachs counts it) but does not
 * end the connect; the second does). UDP over IPv6 and TCP over IPv4 are refused at once.
 */
const slowRefusal = (row: FlowRow): boolean => row.protocol === 'TCP' && rowFamily(row) === 'IPv6';

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

/** Probe a row from its source and read what the node let through. */
export async function probeRow(vc: VirtualCluster, row: FlowRow): Promise<RowOutcome> {
  const from = row.from === 'allowed-client' ? 'client' : row.from;
  await forgetConnections(vc, row);
  // Outcomes that time out (a drop; untouched traffic that the sink swallows) need no long wait.
  const expectSilence = row.expect.kind === 'dropped' || row.expect.kind === 'untouched';
  const probe = await vc.probe({
    from,
    ...(row.from === 'allowed-client' ? { src: sourceAddress('allowed-client', rowFamily(row)) } : {}),
    proto: row.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp',
    dst: row.dst,
    port: row.port,
    count: attemptsFor(row),
    timeoutMs: expectSilence ? 400 : slowRefusal(row) ? 3000 : 1500,
    concurrency: row.expect.kind === 'sticky' ? 1 : 16,
  });
  return { probe, unNATed: await countUnNATed(vc, row) };
}

/** Undefined when the probe result satisfies the row, else what went wrong. */
export function judgeProbe(row: FlowRow, outcome: RowOutcome): string | undefined {
  const r = outcome.probe;
  const count = r.attempts;
  const answered = Object.entries(r.answers);
  const total = answered.reduce((s, [, n]) => s + n, 0);
  const summary = `answers ${JSON.stringify(r.answers)}, refused ${r.refused}, timeouts ${r.timeouts}, errors ${JSON.stringify(r.errors)}, passed on un-NATed ${outcome.unNATed}`;
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
        const sent = sourceAddress(row.from, rowFamily(row));
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
      if (outcome.unNATed !== 0) return `refused by ${row.dst} itself, not by the rules (the node passed the packets on): ${summary}`;
      return r.refusedFastMs < (slowRefusal(row) ? 2000 : 500) ? undefined : `refused, but only after ${r.refusedFastMs} ms (should be at once)`;
    case 'dropped':
      if (r.timeouts !== count) return `expected every attempt to time out (dropped): ${summary}`;
      return outcome.unNATed === 0 ? undefined : `timed out, but the node passed the packets on un-NATed instead of dropping them: ${summary}`;
    case 'untouched': {
      // Sent on to the address itself: the node's own server answers, or the sink swallows it (a timeout).
      const pods = answered.filter(([name]) => name !== NODE_SERVER);
      if (pods.length || Object.keys(r.errors).length) return `expected no pod to answer and no error: ${summary}`;
      return outcome.unNATed === count ? undefined : `expected every attempt passed on un-NATed to ${row.dst}:${row.port}: ${summary}`;
    }
  }
}
