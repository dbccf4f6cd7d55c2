import { Command } from 'commander';
import { describeTarget } from '@kpb/backend';
import type { Backend, Target, TracePacket, TraceResult } from '@kpb/backend';
import { ipFamily } from '@kpb/model';
import { loadBackend } from '../backends.ts';
import { UsageError } from '../errors.ts';
import { loadCluster } from '../input.ts';
import { resolveFamilies, resolvePlans, resolveSettings, resolveTarget, withCommonOptions, type CommonOptions } from '../options.ts';

interface TraceOptions extends CommonOptions {
  input?: string;
  src?: string;
  dst?: string;
  dport?: string;
  protocol: string;
  fromNode?: boolean;
  json?: boolean;
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

export function traceCommand(): Command {
  return withCommonOptions(
    new Command('trace')
      .description(
        "follow one packet through the backend's rules (kube-proxy's own test tracers, as a command): " +
          'which endpoints it may reach and whether it is masqueraded, or that it is rejected, dropped or left alone, and the rule path. ' +
          'With --input: the rules kpb would write for that cluster, in memory. ' +
          'With --netns NAME or --host: the rules that network namespace (--host: the root namespace) holds now, read back and never changed, ' +
          "with its own addresses as the node's; --backend (and --iptables) say how to read them, no --input is taken, and the cluster flags " +
          '(--node, --cluster-cidr, ...) do not apply. Rules kpb did not write are not followed: the output names them',
      )
      .option('-i, --input <file>', 'cluster description (JSON or YAML; - for standard input); not with --netns/--host')
      .option('--src <ip>', "the packet's source address")
      .option('--dst <ip>', "the packet's destination address")
      .option('--dport <port>', "the packet's destination port")
      .option('--protocol <protocol>', 'TCP, UDP or SCTP', 'TCP')
      .option('--from-node', "the node itself sends the packet (OUTPUT), instead of it arriving from a pod or another host (PREROUTING)")
      .option('--json', 'print the verdict, the path and any notes as JSON'),
  ).action(async (opts: TraceOptions) => {
    const packet = tracePacket(opts);
    const readBack = opts.netns !== undefined || opts.host === true;
    if (readBack && opts.input !== undefined) {
      throw new UsageError('--input and --netns/--host exclude each other: with --netns or --host, trace reads the rules the kernel holds; with --input, it traces the rules kpb would write');
    }
    const backend = loadBackend(opts);
    if (readBack) {
      const target = resolveTarget(opts, 'read');
      printTrace(opts, backend, packet, await backend.traceTarget(target, packet), target);
      return;
    }
    const cluster = loadCluster(opts.input);
    const resolved = resolveSettings(opts, cluster);
    if (resolved.note) process.stderr.write(`kpb: ${resolved.note}\n`);
    // The packet's family decides which plan it meets: compile both, unless --family says otherwise.
    printTrace(opts, backend, packet, backend.trace(resolvePlans(opts, cluster, resolved, resolveFamilies({ family: opts.family ?? 'dual' }, cluster)), packet));
  });
}

/** The result as text or JSON; `target`: where the rules were read from (a read-back trace). */
function printTrace(opts: TraceOptions, backend: Backend, packet: TracePacket, result: TraceResult, target?: Target): void {
  const from = target === undefined ? {} : { target: describeTarget(target) };
  process.stdout.write(
    opts.json ? `${JSON.stringify({ backend: backend.name, variant: backend.variant, ...from, packet, ...result }, null, 2)}\n` : describeTrace(packet, result, from.target),
  );
}

/** The packet from the flags, each checked. */
function tracePacket(opts: TraceOptions): TracePacket {
  const address = (flag: string, value: string | undefined): string => {
    if (value === undefined) throw new UsageError(`${flag} IP is required`);
    if (ipFamily(value) === undefined) throw new UsageError(`${flag} ${JSON.stringify(value)} is not an IP address`);
    return value;
  };
  const src = address('--src', opts.src);
  const dst = address('--dst', opts.dst);
  if (ipFamily(src) !== ipFamily(dst)) throw new UsageError(`--src ${src} and --dst ${dst} are of different IP families`);
  if (opts.dport === undefined) throw new UsageError('--dport N is required');
  const dport = Number(opts.dport);
  if (!/^\d+$/.test(opts.dport) || dport < 1 || dport > 65535) throw new UsageError(`--dport ${JSON.stringify(opts.dport)} is not a port (1-65535)`);
  const protocol = opts.protocol.toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError(`--protocol ${JSON.stringify(opts.protocol)} is not TCP, UDP or SCTP`);
  return { src, dst, dport, protocol: protocol as TracePacket['protocol'], origin: opts.fromNode ? 'local' : 'forward' };
}

function describeTrace(p: TracePacket, result: TraceResult, where?: string): string {
  const v = result.verdict;
  const rules = where === undefined ? '' : `, through the rules ${where} holds`;
  const head = `${p.protocol} ${p.src} → ${p.dst}:${p.dport} (${p.origin === 'local' ? 'sent by the node' : 'arriving at the node'}${rules})`;
  let verdict: string;
  switch (v.kind) {
    case 'endpoints': {
      // kube-proxy balances uniformly: each endpoint the rules can reach is equally likely.
      const share = `${(100 / v.endpoints.length).toFixed(1)}%`;
      verdict = `DNAT to one of ${v.endpoints.length} endpoint(s)${v.masquerade ? ', masqueraded' : ''}:\n${v.endpoints.map((e) => `  ${e}  ${share}`).join('\n')}`;
      break;
    }
    case 'rejected':
      verdict = 'rejected';
      break;
    case 'dropped':
      verdict = 'dropped';
      break;
    case 'untouched':
      verdict = "left alone (kpb's rules do not change it)";
      break;
  }
  const notes = (result.notes ?? []).map((n) => `note: ${n}\n`).join('');
  return `${head}\n${verdict}\npath:\n${result.path.map((s) => `  ${s}`).join('\n') || '  (no rule matched)'}\n${notes}`;
}
