/**
 * A virtual cluster in network namespaces:
 *
 *   client ns ── veth (eth0 ⇄ kc0) ── node ns ── veth (kp<i> ⇄ eth0) ── pod ns (one per pod)
 *
 * - client: clientIP/24 (+ extraClientIPs/32) on eth0, `routedToNode` CIDRs and every pod IP
 *           via nodeIP.
 * - node:   nodeIP/24 on kc0; per pod a veth kp<i> holding the gateway 169.254.1.1/32 (scope
 *           link, so it is never picked as a source) and `podIP/32 dev kp<i> src nodeIP`;
 *           `routedToNode` CIDRs go to a sink (veth kd0 ⇄ kd1, next hop with a permanent
 *           neighbour entry to a MAC nobody owns): traffic the node itself sends to a service
 *           address gets a route (OUTPUT DNAT needs one at connect time) and un-DNATed packets
 *           are dropped silently. (This kernel has no dummy driver.) This is where kpb loads rules.
 * - pod:    podIP/32 on eth0, `169.254.1.1 dev eth0`, `default via 169.254.1.1`.
 * Pure L3, no bridge: pod-to-pod traffic is forwarded by the node, so it crosses netfilter and
 * conntrack un-NATs the replies of DNATed connections.
 *
 * IPv6 (when the spec gives `nodeIP6`): the same again in IPv6 on the same links. The node's
 * kc0 and the client's eth0 share a /64; every pod has `ip6`/128 on eth0 with the default route
 * via the node's link-local fe80::1 on its kp<i>; IPv6 `routedToNode` CIDRs go to the sink
 * (next hop fe80::ffff with the same unowned MAC); IPv6 forwarding is on in the node. Addresses
 * are added `nodad` (no duplicate-address detection: usable at once).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ipFamily } from '@kpb/model';
import { createNamespace, deleteNamespace, execHost, execIn } from './netns.ts';

type ProbeProto = 'tcp' | 'udp' | 'sctp';

interface PodSpec {
  readonly name: string;
  readonly ip: string;
  readonly tcpPorts?: readonly number[];
  readonly udpPorts?: readonly number[];
  readonly sctpPorts?: readonly number[];
  /** The pod's IPv6 address (with `nodeIP6` in the spec: every pod needs one). */
  readonly ip6?: string;
}

export interface VirtualClusterSpec {
  /** Node address on the client link, e.g. 192.168.100.1 (a /24 is assumed). */
  readonly nodeIP: string;
  /** Client address on the same /24, e.g. 192.168.100.2. */
  readonly clientIP: string;
  /** IPv6 of the node on the client link (a /64 is assumed); gives the cluster IPv6. */
  readonly nodeIP6?: string;
  /** The client's IPv6 on the same /64 (required with `nodeIP6`). */
  readonly clientIP6?: string;
  /** More source addresses on the client (added as /32 or /128), e.g. to test loadBalancerSourceRanges. */
  readonly extraClientIPs?: readonly string[];
  readonly pods: readonly PodSpec[];
  /** CIDRs (either family) the client routes via the node: service CIDR, external IPs, load-balancer IPs. */
  readonly routedToNode: readonly string[];
}

interface ProbeOptions {
  /** 'client', 'node' or a pod name. */
  readonly from: string;
  readonly proto: ProbeProto;
  readonly dst: string;
  readonly port: number;
  /** Independent attempts, each a new connection / new UDP socket (default 1). */
  readonly count?: number;
  /** Per attempt (default 1000 ms). */
  readonly timeoutMs?: number;
  /** Source address to bind (must exist in the `from` namespace). */
  readonly src?: string;
  /** Attempts in flight at once (default 32). */
  readonly concurrency?: number;
}

export interface ProbeResult {
  /** Answers per responding server name. */
  readonly answers: Readonly<Record<string, number>>;
  /** Source addresses each server saw. */
  readonly sources: Readonly<Record<string, readonly string[]>>;
  /** Ports each server was reached on (its answer names the local port). */
  readonly ports: Readonly<Record<string, readonly number[]>>;
  /** ICMP port-unreachable or TCP reset (ECONNREFUSED). */
  readonly refused: number;
  /** No answer within timeoutMs (dropped). */
  readonly timeouts: number;
  /** Anything else, by error code (EHOSTUNREACH, ENETUNREACH, …). */
  readonly errors: Readonly<Record<string, number>>;
  /** Slowest refused attempt, ms (0 when none was refused). */
  readonly refusedFastMs: number;
  /** Wall time inside the probe agent, ms. */
  readonly elapsedMs: number;
  readonly attempts: number;
}

export interface VirtualCluster {
  readonly spec: VirtualClusterSpec;
  /** Namespace where kpb loads rules. */
  readonly nodeNs: string;
  readonly clientNs: string;
  /** Namespace of a pod (throws for an unknown name). */
  podNs(name: string): string;
  /** Whether the kernel can open SCTP sockets (CONFIG_IP_SCTP); netfilter may still match SCTP. */
  readonly sctpSupported: boolean;
  /** Why SCTP is not supported, when it is not. */
  readonly sctpReason?: string;
  /** Pids of the echo servers this cluster started. */
  readonly serverPids: readonly number[];
  /** Milliseconds spent building: namespaces, links, servers, total. */
  readonly timings: Readonly<Record<string, number>>;
  probe(options: ProbeOptions): Promise<ProbeResult>;
  /** Kill the servers and delete every namespace. Idempotent, safe on a half-built cluster. */
  teardown(): Promise<void>;
}

const POD_GATEWAY = '169.254.1.1';
/** The pods' IPv6 gateway: the node's link-local address on each kp<i>. */
const POD_GATEWAY6 = 'fe80::1';
/** Next hop (on the sink veth kd0) of the routedToNode CIDRs in the node, with a MAC nobody owns. */
const SINK_GATEWAY = '169.254.255.254';
const SINK_MAC = '02:00:00:00:00:01';
const SINK_GATEWAY6 = 'fe80::ffff';
const AGENTS = new URL('./agents/', import.meta.url).pathname;
const ECHO_SERVER = `${AGENTS}echo-server.mjs`;
const PROBE = `${AGENTS}probe.mjs`;
/** Servers exit by themselves after this long even if nobody kills them. */
const SERVER_MAX_SECONDS = 600;
const SERVER_READY_MS = 15_000;

const NODE_SYSCTLS = [
  'net.ipv4.ip_forward=1',
  'net.ipv6.conf.all.forwarding=1',
  // Pod replies and DNATed packets arrive on interfaces the reverse path may not agree with.
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  // Hairpin (pod → service → same pod / same veth) would otherwise send ICMP redirects.
  'net.ipv4.conf.all.send_redirects=0',
  'net.ipv4.conf.default.send_redirects=0',
  // As kube-proxy: allow DNAT of 127.0.0.1 NodePort traffic to leave lo.
  'net.ipv4.conf.all.route_localnet=1',
];
const ALL_SYSCTLS = [
  // `reject` answers are ICMP errors: without this, all but ~6 per second and peer are suppressed
  // and a refused probe looks like a drop.
  'net.ipv4.icmp_ratelimit=0',
  'net.ipv4.icmp_msgs_per_sec=100000',
  'net.ipv4.icmp_msgs_burst=100000',
  'net.ipv6.icmp.ratelimit=0',
];

// ---------- validation (everything reaching `ip` is checked) ----------

function isIPv4(s: string): boolean {
  return ipFamily(s) === 'IPv4';
}

function checkIP(what: string, s: string, family: 'IPv4' | 'IPv6' | 'any' = 'IPv4'): void {
  const f = ipFamily(s);
  if (f === undefined || (family !== 'any' && f !== family)) throw new Error(`virtual cluster: ${what} ${JSON.stringify(s)} is not an ${family === 'any' ? 'IP' : family} address`);
}

function checkCIDR(what: string, s: string): void {
  const [ip, len, ...rest] = s.split('/');
  const f = ipFamily(ip ?? '');
  const lenOk = len === undefined || (/^\d{1,3}$/.test(len) && Number(len) <= (f === 'IPv6' ? 128 : 32));
  if (rest.length || f === undefined || !lenOk) throw new Error(`virtual cluster: ${what} ${JSON.stringify(s)} is not a CIDR`);
}

/** Host-route suffix of an address of either family. */
const hostLen = (ip: string): string => (isIPv4(ip) ? '/32' : '/128');

function checkPorts(what: string, ports: readonly number[] | undefined): void {
  for (const p of ports ?? []) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`virtual cluster: ${what} port ${p} out of range`);
  }
}

function same24(a: string, b: string): boolean {
  return a.split('.').slice(0, 3).join('.') === b.split('.').slice(0, 3).join('.');
}

function validate(spec: VirtualClusterSpec): void {
  checkIP('nodeIP', spec.nodeIP);
  checkIP('clientIP', spec.clientIP);
  if (!same24(spec.nodeIP, spec.clientIP)) throw new Error('virtual cluster: nodeIP and clientIP must share a /24');
  for (const ip of spec.extraClientIPs ?? []) checkIP('extraClientIPs entry', ip, 'any');
  if ((spec.nodeIP6 === undefined) !== (spec.clientIP6 === undefined)) throw new Error('virtual cluster: give nodeIP6 and clientIP6 together');
  if (spec.nodeIP6 !== undefined) {
    checkIP('nodeIP6', spec.nodeIP6, 'IPv6');
    checkIP('clientIP6', spec.clientIP6!, 'IPv6');
  }
  for (const c of spec.routedToNode) checkCIDR('routedToNode entry', c);
  if (spec.pods.length > 200) throw new Error('virtual cluster: at most 200 pods');
  const names = new Set<string>();
  const ips = new Set<string>([spec.nodeIP, spec.clientIP, ...(spec.extraClientIPs ?? [])]);
  for (const p of spec.pods) {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(p.name) || p.name === 'client' || p.name === 'node') {
      throw new Error(`virtual cluster: bad pod name ${JSON.stringify(p.name)}`);
    }
    if (names.has(p.name)) throw new Error(`virtual cluster: duplicate pod name ${p.name}`);
    names.add(p.name);
    checkIP(`pod ${p.name} ip`, p.ip);
    if ((spec.nodeIP6 !== undefined) !== (p.ip6 !== undefined)) throw new Error(`virtual cluster: pod ${p.name} needs ip6 exactly when the cluster has nodeIP6`);
    for (const ip of p.ip6 === undefined ? [p.ip] : [p.ip, p.ip6]) {
      checkIP(`pod ${p.name} address`, ip, 'any');
      if (ips.has(ip)) throw new Error(`virtual cluster: address ${ip} used twice`);
      ips.add(ip);
    }
    checkPorts(`pod ${p.name} tcp`, p.tcpPorts);
    checkPorts(`pod ${p.name} udp`, p.udpPorts);
    checkPorts(`pod ${p.name} sctp`, p.sctpPorts);
  }
}

// ---------- pieces ----------

async function ipBatch(ns: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await execHost(['ip', '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 20_000 });
}

async function sysctls(ns: string, settings: readonly string[]): Promise<void> {
  await execIn(ns, ['sysctl', '-q', '-w', ...settings], { timeoutMs: 10_000 });
}

/** Can this kernel open an SCTP socket in `ns`? socat listening = yes; "Protocol not supported" = no. */
async function detectSctp(ns: string): Promise<{ ok: boolean; reason?: string }> {
  let res;
  try {
    res = await execIn(ns, ['timeout', '0.3', 'socat', 'SCTP-LISTEN:9,bind=127.0.0.1', 'STDOUT'], {
      allowFailure: true,
      timeoutMs: 5000,
    });
  } catch (e) {
    return { ok: false, reason: `cannot check SCTP: ${(e as Error).message}` };
  }
  if (res.code === 124) return { ok: true };
  const said = res.stderr.trim().split('\n').pop() ?? '';
  if (res.code === 127 || /not found/i.test(said)) return { ok: false, reason: 'socat is not installed (needed for SCTP)' };
  return { ok: false, reason: `kernel has no SCTP (socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): ${said.replace(/^.*E /, '')})` };
}

interface Server {
  readonly pod: string;
  readonly child: ChildProcess;
  exited: boolean;
}

function startServer(ns: string, pod: PodSpec, sctp: boolean, ipv6: boolean): Promise<Server> {
  const args = [ECHO_SERVER, '--name', pod.name, '--max-seconds', String(SERVER_MAX_SECONDS), ...(ipv6 ? ['--ipv6'] : [])];
  if (pod.tcpPorts?.length) args.push('--tcp', pod.tcpPorts.join(','));
  if (pod.udpPorts?.length) args.push('--udp', pod.udpPorts.join(','));
  if (sctp && pod.sctpPorts?.length) args.push('--sctp', pod.sctpPorts.join(','));
  // `ip netns exec` execs the command: the child's pid is the server's own pid.
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const server: Server = { pod: pod.name, child, exited: false };
  child.on('exit', () => {
    server.exited = true;
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let done = false;
    const finish = (e?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) reject(Object.assign(e, { server }));
      else resolve(server);
    };
    const timer = setTimeout(() => finish(new Error(`echo server of pod ${pod.name} not ready within ${SERVER_READY_MS} ms: ${err}`)), SERVER_READY_MS);
    child.stdout!.on('data', (b: Buffer) => {
      if (out.length < 4096) out += b.toString('utf8');
      if (/^ready$/m.test(out)) finish();
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString('utf8');
    });
    child.on('error', (e) => finish(new Error(`cannot start echo server of pod ${pod.name}: ${e.message}`)));
    child.on('exit', (code) => finish(new Error(`echo server of pod ${pod.name} exited (${code}): ${err.trim()}`)));
    child.stdin!.on('error', () => {});
  });
}

async function stopServer(s: Server): Promise<void> {
  const pid = s.child.pid;
  if (s.exited || pid === undefined) return;
  const gone = new Promise<void>((resolve) => {
    if (s.exited) return resolve();
    s.child.once('exit', () => resolve());
  });
  try {
    s.child.kill('SIGTERM');
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    if (!s.exited) s.child.kill('SIGKILL');
  }, 1000);
  await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
  clearTimeout(t);
  s.child.stdin?.destroy();
}

// ---------- the cluster ----------

/** Teardowns of every cluster this process started building and has not torn down yet. */
const pending = new Set<() => Promise<void>>();

/**
 * Tear down every virtual cluster of this process, including one whose build is still running
 * or hung (e.g. after a beforeAll timeout). For `afterAll`.
 */
export async function teardownAllClusters(): Promise<void> {
  const errors: unknown[] = [];
  for (const t of [...pending].slice(0, 1000)) await t().catch((e) => errors.push(e));
  if (errors.length) throw new AggregateError(errors, `teardownAllClusters: ${errors.length} error(s)`);
}

/** What a cluster build has made so far, and its teardown (safe on a half-built cluster). */
class ClusterParts {
  readonly namespaces: string[] = [];
  readonly podNamespaces = new Map<string, string>();
  readonly servers: Server[] = [];
  nodeNs = '';
  clientNs = '';
  #tornDown: Promise<void> | undefined;

  get tornDown(): boolean {
    return this.#tornDown !== undefined;
  }

  readonly teardown = (): Promise<void> => {
    this.#tornDown ??= (async () => {
      pending.delete(this.teardown);
      const errors: unknown[] = [];
      await Promise.all(this.servers.map((s) => stopServer(s).catch((e) => errors.push(e))));
      // Pods first (their veths vanish with them), then client and node.
      const order = [...this.podNamespaces.values(), this.clientNs, this.nodeNs].filter((n) => n && this.namespaces.includes(n));
      await Promise.all(order.map((ns) => deleteNamespace(ns).catch((e) => errors.push(e))));
      if (errors.length) throw new AggregateError(errors, `virtual cluster teardown: ${errors.length} error(s)`);
    })();
    return this.#tornDown;
  };

  /**
   * A namespace or server that appears after a teardown started (hung build finishing late)
   * is removed right away.
   */
  async abortIfTornDown(): Promise<void> {
    if (!this.#tornDown) return;
    await this.#tornDown.catch(() => {});
    this.#tornDown = undefined;
    await this.teardown();
    throw new Error('virtual cluster was torn down while being built');
  }

  podNs(name: string): string {
    const ns = this.podNamespaces.get(name);
    if (!ns) throw new Error(`virtual cluster: no pod named ${JSON.stringify(name)}`);
    return ns;
  }

  /** The namespace of 'client', 'node' or a pod. */
  nsOf(from: string): string {
    if (from === 'client') return this.clientNs;
    if (from === 'node') return this.nodeNs;
    const ns = this.podNamespaces.get(from);
    if (!ns) throw new Error(`virtual cluster: no pod named ${JSON.stringify(from)} (nor 'client'/'node')`);
    return ns;
  }
}

export async function createVirtualCluster(spec: VirtualClusterSpec): Promise<VirtualCluster> {
  validate(spec);
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const parts = new ClusterParts();
  pending.add(parts.teardown);
  const timed = async <T>(step: string, run: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const result = await run();
    timings[step] = Math.round(performance.now() - t);
    return result;
  };
  try {
    await timed('namespaces', () => createNamespaces(spec, parts));
    await timed('sysctls', () => setSysctls(parts));
    await timed('links', () => wireLinks(spec, parts));
    const sctp = await timed('sctpCheck', () => detectSctp(parts.nodeNs));
    await timed('servers', () => startServers(spec, parts, sctp.ok));
    timings['total'] = Math.round(performance.now() - t0);
    return clusterHandle(spec, parts, sctp, timings);
  } catch (e) {
    await parts.teardown().catch(() => {
      /* the build error is the one to report */
    });
    throw e;
  }
}

/** Node, client and one namespace per pod; every one made is recorded, even when another fails. */
async function createNamespaces(spec: VirtualClusterSpec, parts: ClusterParts): Promise<void> {
  const made = await Promise.allSettled([
    createNamespace('node'),
    createNamespace('client'),
    ...spec.pods.map((p) => createNamespace(p.name)),
  ]);
  for (const m of made) if (m.status === 'fulfilled') parts.namespaces.push(m.value);
  const failed = made.find((m): m is PromiseRejectedResult => m.status === 'rejected');
  parts.nodeNs = made[0]!.status === 'fulfilled' ? made[0]!.value : '';
  parts.clientNs = made[1]!.status === 'fulfilled' ? made[1]!.value : '';
  spec.pods.forEach((p, i) => {
    const m = made[i + 2]!;
    if (m.status === 'fulfilled') parts.podNamespaces.set(p.name, m.value);
  });
  await parts.abortIfTornDown();
  if (failed) throw failed.reason;
}

async function setSysctls(parts: ClusterParts): Promise<void> {
  await Promise.all([
    sysctls(parts.nodeNs, [...NODE_SYSCTLS, ...ALL_SYSCTLS]),
    sysctls(parts.clientNs, ['net.ipv4.conf.all.rp_filter=0', ...ALL_SYSCTLS]),
    ...[...parts.podNamespaces.values()].map((ns) => sysctls(ns, ['net.ipv4.conf.all.rp_filter=0', ...ALL_SYSCTLS])),
  ]);
}

/** The node's `ip -batch` lines: first the veth pairs (one per peer), then addresses and routes. */
function nodeLinkLines(spec: VirtualClusterSpec, parts: ClusterParts): { links: string[]; rest: string[] } {
  // Links: created from the node, the peer end lands directly in the other namespace.
  const links = [`link add kc0 type veth peer name eth0 netns ${parts.clientNs}`];
  spec.pods.forEach((p, i) => links.push(`link add kp${i.toString(16)} type veth peer name eth0 netns ${parts.podNamespaces.get(p.name)}`));
  const rest = [
    `addr add ${spec.nodeIP}/24 dev kc0`,
    'link set kc0 up',
    // The sink: frames sent out kd0 carry a MAC nobody owns, so kd1 discards them silently.
    'link add kd0 type veth peer name kd1',
    'link set kd0 up',
    'link set kd1 up',
    `neigh add ${SINK_GATEWAY} lladdr ${SINK_MAC} dev kd0 nud permanent`,
  ];
  const v6 = spec.nodeIP6;
  if (v6 !== undefined) rest.push(`addr add ${v6}/64 dev kc0 nodad`, `neigh add ${SINK_GATEWAY6} lladdr ${SINK_MAC} dev kd0 nud permanent`);
  for (const c of spec.routedToNode) rest.push(isIPv4(c.split('/')[0]!) ? `route add ${c} via ${SINK_GATEWAY} dev kd0 onlink` : `route add ${c} via ${SINK_GATEWAY6} dev kd0`);
  for (const ip of spec.extraClientIPs ?? []) {
    if (isIPv4(ip) && !same24(ip, spec.nodeIP)) rest.push(`route add ${ip}/32 dev kc0 src ${spec.nodeIP}`);
  }
  spec.pods.forEach((p, i) => {
    const dev = `kp${i.toString(16)}`;
    rest.push(`addr add ${POD_GATEWAY}/32 dev ${dev} scope link`, `link set ${dev} up`, `route add ${p.ip}/32 dev ${dev} src ${spec.nodeIP}`);
    if (v6 !== undefined && p.ip6 !== undefined) rest.push(`addr add ${POD_GATEWAY6}/64 dev ${dev} nodad`, `route add ${p.ip6}/128 dev ${dev} src ${v6}`);
  });
  return { links, rest };
}

async function wireLinks(spec: VirtualClusterSpec, parts: ClusterParts): Promise<void> {
  const node = nodeLinkLines(spec, parts);
  // `link add` must precede the others; the rest of the node batch can only run after it.
  await ipBatch(parts.nodeNs, node.links);
  await Promise.all([
    ipBatch(parts.nodeNs, node.rest),
    ipBatch(parts.clientNs, clientLines(spec)),
    ...spec.pods.map((p) =>
      ipBatch(parts.podNamespaces.get(p.name)!, [
        `addr add ${p.ip}/32 dev eth0`,
        'link set eth0 up',
        `route add ${POD_GATEWAY} dev eth0 scope link`,
        `route add default via ${POD_GATEWAY} dev eth0`,
        ...(p.ip6 === undefined ? [] : [`addr add ${p.ip6}/128 dev eth0 nodad`, `route add default via ${POD_GATEWAY6} dev eth0`]),
      ]),
    ),
  ]);
}

/** The client's `ip -batch` lines: its addresses, and routes via the node (its IPv6 one for IPv6). */
function clientLines(spec: VirtualClusterSpec): string[] {
  const via = (ip: string) => (isIPv4(ip) ? spec.nodeIP : spec.nodeIP6!);
  return [
    `addr add ${spec.clientIP}/24 dev eth0`,
    ...(spec.clientIP6 === undefined ? [] : [`addr add ${spec.clientIP6}/64 dev eth0 nodad`]),
    ...(spec.extraClientIPs ?? []).map((ip) => `addr add ${ip}${hostLen(ip)} dev eth0${isIPv4(ip) ? '' : ' nodad preferred_lft 0'}`),
    'link set eth0 up',
    ...spec.routedToNode.map((c) => `route add ${c} via ${via(c.split('/')[0]!)} dev eth0`),
    // Pod addresses are reachable from outside directly (flat network, as with most CNIs).
    ...spec.pods.flatMap((p) => [p.ip, ...(p.ip6 === undefined ? [] : [p.ip6])].map((ip) => `route add ${ip}${hostLen(ip)} via ${via(ip)} dev eth0`)),
  ];
}

/** An echo server in every pod with ports; each one started is recorded, even when another fails. */
async function startServers(spec: VirtualClusterSpec, parts: ClusterParts, sctp: boolean): Promise<void> {
  const started = await Promise.allSettled(
    spec.pods
      .filter((p) => p.tcpPorts?.length || p.udpPorts?.length || (sctp && p.sctpPorts?.length))
      .map((p) => startServer(parts.podNamespaces.get(p.name)!, p, sctp, spec.nodeIP6 !== undefined)),
  );
  for (const s of started) {
    if (s.status === 'fulfilled') parts.servers.push(s.value);
    else if ((s.reason as { server?: Server }).server) parts.servers.push((s.reason as { server: Server }).server);
  }
  await parts.abortIfTornDown();
  const bad = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (bad) throw bad.reason;
}

function clusterHandle(
  spec: VirtualClusterSpec, parts: ClusterParts, sctp: { ok: boolean; reason?: string }, timings: Record<string, number>,
): VirtualCluster {
  return {
    spec,
    nodeNs: parts.nodeNs,
    clientNs: parts.clientNs,
    podNs: (name) => parts.podNs(name),
    sctpSupported: sctp.ok,
    ...(sctp.ok ? {} : { sctpReason: sctp.reason }),
    serverPids: parts.servers.map((s) => s.child.pid!).filter((p) => p !== undefined),
    timings,
    teardown: parts.teardown,
    async probe(o: ProbeOptions): Promise<ProbeResult> {
      if (parts.tornDown) throw new Error('virtual cluster: probe after teardown');
      const ns = parts.nsOf(o.from);
      if (o.proto === 'sctp' && !sctp.ok) {
        throw new Error(`virtual cluster: cannot probe SCTP: ${sctp.reason ?? 'kernel has no SCTP'}`);
      }
      return runProbe(ns, o);
    },
  };
}

/** Run the probe agent in `ns` and parse the result it prints last. */
async function runProbe(ns: string, o: ProbeOptions): Promise<ProbeResult> {
  if (!['tcp', 'udp', 'sctp'].includes(o.proto)) throw new Error(`virtual cluster: bad proto ${String(o.proto)}`);
  checkIP('probe dst', o.dst, 'any');
  if (o.src !== undefined) checkIP('probe src', o.src, ipFamily(o.dst));
  const count = o.count ?? 1;
  const timeoutMs = o.timeoutMs ?? 1000;
  const concurrency = o.concurrency ?? 32;
  const args = [
    PROBE,
    '--proto', o.proto,
    '--dst', o.dst,
    '--port', String(o.port),
    '--count', String(count),
    '--timeout-ms', String(timeoutMs),
    '--concurrency', String(concurrency),
  ];
  if (o.src !== undefined) args.push('--src', o.src);
  const budget = Math.ceil(count / Math.max(1, Math.min(concurrency, count))) * (timeoutMs + 50) + 15_000;
  const res = await execIn(ns, [process.execPath, ...args], { timeoutMs: budget });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    throw new Error(`virtual cluster: probe printed no result: ${res.stdout.slice(0, 500)} ${res.stderr.slice(0, 500)}`);
  }
}
