import { Command } from 'commander';
import type { TracePacket, TraceResult } from '@kpb/backend';
import { compile } from '@kpb/compiler';
import { ipFamily } from '@kpb/model';
import { loadBackend } from '../backends.ts';
import { UsageError } from '../errors.ts';
import { loadCluster } from '../input.ts';
import { resolveSettings, withCommonOptions, type CommonOptions } from '../options.ts';

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
        "follow one packet through the backend's rules for a cluster, in memory (kube-proxy's own test tracers, as a command): " +
          'which endpoints it may reach and whether it is masqueraded, or that it is rejected, dropped or left alone, and the rule path. ' +
          'In memory only: tracing what a namespace holds (--netns/--host) is not built yet',
      )
      .option('-i, --input <file>', 'cluster description (JSON or YAML; - for standard input)')
      .option('--src <ip>', "the packet's source address")
      .option('--dst <ip>', "the packet's destination address")
      .option('--dport <port>', "the packet's destination port")
      .option('--protocol <protocol>', 'TCP, UDP or SCTP', 'TCP')
      .option('--from-node', "the node itself sends the packet (OUTPUT), instead of it arriving from a pod or another host (PREROUTING)")
      .option('--json', 'print the verdict and the path as JSON'),
  ).action((opts: TraceOptions) => {
    if (opts.netns !== undefined || opts.host) {
      throw new UsageError('trace follows the rules kpb would write, in memory; tracing what a namespace holds (--netns/--host) is not built yet');
    }
    const packet = tracePacket(opts);
    const cluster = loadCluster(opts.input);
    const { settings, note } = resolveSettings(opts, cluster);
    if (note) process.stderr.write(`kpb: ${note}\n`);
    const backend = loadBackend(opts);
    const result = backend.trace(compile(cluster, settings), packet);
    process.stdout.write(opts.json ? `${JSON.stringify({ backend: backend.name, variant: backend.variant, packet, ...result }, null, 2)}\n` : describeTrace(packet, result));
  });
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

function describeTrace(p: TracePacket, result: TraceResult): string {
  const v = result.verdict;
  const head = `${p.protocol} ${p.src} → ${p.dst}:${p.dport} (${p.origin === 'local' ? 'sent by the node' : 'arriving at the node'})`;
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
  return `${head}\n${verdict}\npath:\n${result.path.map((s) => `  ${s}`).join('\n') || '  (no rule matched)'}\n`;
}
