/**
 * kube-proxy's packet-flow tables (its tests' `packetFlowTest` rows), transcribed as YAML in
 * ../../kube-proxy/flows/, and how a kpb tracer's verdict answers one of them.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { TracePacket, TraceResult } from '@kpb/backend';

/** One row: kube-proxy's question and its tracer's answer. */
export interface KubeProxyFlow {
  readonly name: string;
  readonly src: string;
  readonly protocol: TracePacket['protocol'];
  readonly dst: string;
  readonly dport: number;
  /** DNAT destinations joined by ", ", or ACCEPT / REJECT / DROP, or "" when untouched. */
  readonly output: string;
  readonly masq: boolean;
}

export const FLOWS_DIR = new URL('../../kube-proxy/flows/', import.meta.url);
/** kube-proxy's nftables-mode flow tables (its pkg/proxy/nftables tests). */
const NFTABLES_FLOWS_DIR = new URL('../../kube-proxy/flows-nftables/', import.meta.url);

export function readKubeProxyFlows(name: string, dir: URL = FLOWS_DIR): KubeProxyFlow[] {
  const file = new URL(`${name}.flows.yaml`, dir);
  const rows = parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
  return rows.map((r) => ({
    name: String(r['name']),
    src: String(r['src']),
    protocol: (r['protocol'] ?? 'TCP') as KubeProxyFlow['protocol'],
    dst: String(r['dst']),
    dport: Number(r['dport']),
    output: String(r['output'] ?? ''),
    masq: r['masq'] === true,
  }));
}

/**
 * kube-proxy's tracer runs nat PREROUTING and then the filter service chains, so its packets
 * arrive from outside the node's own stack: kpb's 'forward' origin.
 */
export function flowPacket(flow: KubeProxyFlow): TracePacket {
  return { src: flow.src, protocol: flow.protocol, dst: flow.dst, dport: flow.dport, origin: 'forward' };
}

/** kpb's verdict in kube-proxy's words. ACCEPT and untouched both let the packet through as is. */
function kubeProxyOutput(result: TraceResult): { output: string; masq: boolean } {
  const v = result.verdict;
  switch (v.kind) {
    case 'endpoints':
      return { output: [...v.endpoints].sort().join(', '), masq: v.masquerade };
    case 'rejected':
      return { output: 'REJECT', masq: false };
    case 'dropped':
      return { output: 'DROP', masq: false };
    case 'untouched':
      return { output: '', masq: false };
  }
}

/** undefined when kpb's tracer gives kube-proxy's answer, else what differs and the rule path. */
export function judgeKubeProxyFlow(result: TraceResult, flow: KubeProxyFlow): string | undefined {
  const got = kubeProxyOutput(result);
  const wantOutput = flow.output === 'ACCEPT' ? '' : flow.output.split(', ').sort().join(', ');
  const masqMatters = got.output.includes(':');
  if (got.output === wantOutput && (!masqMatters || got.masq === flow.masq)) return undefined;
  return `kube-proxy: ${JSON.stringify(flow.output)} masq ${flow.masq}; kpb: ${JSON.stringify(got.output)} masq ${got.masq}\n  path: ${result.path.join(' → ') || '(none)'}`;
}

const sameQuestion = (a: KubeProxyFlow, b: KubeProxyFlow): boolean =>
  a.name === b.name && a.src === b.src && a.dst === b.dst && a.dport === b.dport && a.protocol === b.protocol;

/**
 * An iptables-mode table as kube-proxy's nftables mode answers it: a row that kube-proxy's
 * nftables tests ask too (the table of the same name in flows-nftables/, same name and packet)
 * takes that answer, e.g. a ClusterIP's unused port, which nftables mode rejects and iptables
 * mode leaves alone. The other rows are asked of iptables mode only, and keep its answer.
 */
export function asNftablesMode(name: string, flows: readonly KubeProxyFlow[]): KubeProxyFlow[] {
  let nftables: KubeProxyFlow[];
  try {
    nftables = readKubeProxyFlows(name, NFTABLES_FLOWS_DIR);
  } catch {
    return [...flows];
  }
  return flows.map((f) => nftables.find((n) => sameQuestion(n, f)) ?? f);
}

