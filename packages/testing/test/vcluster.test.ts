import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canUseKernel,
  createNamespace,
  createVirtualCluster,
  deleteNamespace,
  execHost,
  execIn,
  listNamespaces,
  reapStale,
  teardownAllClusters,
  withNamespace,
  type VirtualCluster,
} from '../src/index.ts';

const NODE = '192.168.100.1';
const CLIENT = '192.168.100.2';
const EXTRA = '203.0.113.7';
const POD1 = '10.244.0.11';
const POD2 = '10.244.0.12';
const POD3 = '10.244.0.13';
const SVC = '10.96.0.1';
const SVC_REJECT = '10.96.0.2';
const SVC_DROP = '10.96.0.3';

const RULES = `table ip t {
  chain pre {
    type nat hook prerouting priority -100;
    ip daddr ${SVC} tcp dport 80 dnat to ${POD1}:80
    ip daddr ${SVC} udp dport 53 dnat to ${POD1}:53
  }
  chain filt {
    type filter hook forward priority 0;
    ip daddr ${SVC_REJECT} reject
    ip daddr ${SVC_DROP} drop
  }
}
`;

/** Namespaces this process made (others may be running kernel tests at the same time). */
async function ours(): Promise<string[]> {
  return (await listNamespaces()).filter((n) => n.includes(`-${process.pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const timings: Record<string, number> = {};
async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = Math.round(performance.now() - t);
  }
}

describe.skipIf(!canUseKernel())('network namespaces', () => {
  it('withNamespace creates a kpb namespace with lo up and always deletes it', async () => {
    let seen = '';
    await expect(
      withNamespace('unit', async (ns) => {
        seen = ns;
        expect(ns).toMatch(new RegExp(`^kpb-unit-${process.pid}-\\d+$`));
        const lo = await execIn(ns, ['ip', '-o', 'link', 'show', 'lo']);
        expect(lo.stdout).toMatch(/UP/);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await listNamespaces()).not.toContain(seen);
    await deleteNamespace(seen); // idempotent
  });

  it('execIn reports the exit code and refuses non-kpb names', async () => {
    const ns = await createNamespace('unit');
    try {
      const r = await execIn(ns, ['sh', '-c', 'cat; exit 3'], { input: 'hi', allowFailure: true });
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('hi');
      await expect(execIn(ns, ['false'])).rejects.toThrow(/exit 1/);
      await expect(execIn('default', ['true'])).rejects.toThrow(/not a kpb/);
    } finally {
      await deleteNamespace(ns);
    }
  });

  it('reapStale deletes namespaces whose creator is gone, and only those', async () => {
    const dead = spawnSync('true').pid!;
    expect(alive(dead)).toBe(false);
    const stale = `kpb-stale-${dead}-1`;
    await execHost(['ip', 'netns', 'add', stale]);
    const mine = await createNamespace('keep');
    try {
      const reaped = await reapStale();
      expect(reaped).toContain(stale);
      const left = await listNamespaces();
      expect(left).not.toContain(stale);
      expect(left).toContain(mine);
    } finally {
      await deleteNamespace(mine);
      await execHost(['ip', 'netns', 'delete', stale], { allowFailure: true });
    }
  });
});

describe.skipIf(!canUseKernel())('virtual cluster teardown while building', () => {
  it('teardownAllClusters during a build removes everything and fails the build', async () => {
    const building = createVirtualCluster({
      nodeIP: NODE,
      clientIP: CLIENT,
      routedToNode: ['10.96.0.0/16'],
      pods: [{ name: 'pod1', ip: POD1, tcpPorts: [80] }],
    });
    await teardownAllClusters();
    await expect(building).rejects.toThrow(/torn down while being built/);
    expect(await ours()).toEqual([]);
  });
});

describe.skipIf(!canUseKernel())('virtual cluster', () => {
  let vc: VirtualCluster | undefined;

  beforeAll(async () => {
    await reapStale();
    vc = await timed('build', () =>
      createVirtualCluster({
        nodeIP: NODE,
        clientIP: CLIENT,
        extraClientIPs: [EXTRA],
        routedToNode: ['10.96.0.0/16'],
        pods: [
          { name: 'pod1', ip: POD1, tcpPorts: [80, 8080], udpPorts: [53], sctpPorts: [9000] },
          { name: 'pod2', ip: POD2, tcpPorts: [80], udpPorts: [53] },
          { name: 'pod3', ip: POD3, tcpPorts: [80] },
        ],
      }),
    );
  }, 30_000);

  afterAll(async () => {
    // Also covers a build that timed out in beforeAll and never returned a cluster.
    await teardownAllClusters();
    console.log('vcluster timings (ms):', JSON.stringify({ ...timings, ...vc?.timings }));
  }, 30_000);

  const cluster = (): VirtualCluster => {
    if (!vc) throw new Error('cluster not built');
    return vc;
  };

  it('client reaches a pod directly over TCP and UDP, and the pod sees the real client address', async () => {
    const tcp = await timed('client->pod tcp x200', () =>
      cluster().probe({ from: 'client', proto: 'tcp', dst: POD1, port: 80, count: 200, timeoutMs: 1000 }),
    );
    expect(tcp).toMatchObject({ answers: { pod1: 200 }, sources: { pod1: [CLIENT] }, refused: 0, timeouts: 0, errors: {} });
    // The attempts themselves (inside the probe, without node's start-up): well under 2 s.
    expect(tcp.elapsedMs).toBeLessThan(2000);
    const udp = await timed('client->pod udp x100', () =>
      cluster().probe({ from: 'client', proto: 'udp', dst: POD1, port: 53, count: 100, timeoutMs: 1000 }),
    );
    expect(udp).toMatchObject({ answers: { pod1: 100 }, sources: { pod1: [CLIENT] }, refused: 0, timeouts: 0 });
    const extra = await cluster().probe({ from: 'client', proto: 'tcp', dst: POD2, port: 80, count: 5, src: EXTRA });
    expect(extra).toMatchObject({ answers: { pod2: 5 }, sources: { pod2: [EXTRA] } });
  });

  it('pod reaches pod directly, and the node reaches pods', async () => {
    const r = await cluster().probe({ from: 'pod2', proto: 'tcp', dst: POD3, port: 80, count: 20 });
    expect(r).toMatchObject({ answers: { pod3: 20 }, sources: { pod3: [POD2] } });
    const u = await cluster().probe({ from: 'pod3', proto: 'udp', dst: POD2, port: 53, count: 20 });
    expect(u).toMatchObject({ answers: { pod2: 20 }, sources: { pod2: [POD3] } });
    const n = await cluster().probe({ from: 'node', proto: 'tcp', dst: POD1, port: 8080, count: 5 });
    expect(n).toMatchObject({ answers: { pod1: 5 }, sources: { pod1: [NODE] } });
  });

  it('a closed port is refused fast for TCP and UDP, without rules', async () => {
    for (const proto of ['tcp', 'udp'] as const) {
      const r = await cluster().probe({ from: 'client', proto, dst: POD3, port: 81, count: 50, timeoutMs: 1000 });
      expect(r).toMatchObject({ refused: 50, timeouts: 0 });
      expect(r.refusedFastMs).toBeLessThan(500);
    }
  });

  it('service addresses go nowhere without rules (silently dropped)', async () => {
    const r = await cluster().probe({ from: 'client', proto: 'tcp', dst: SVC, port: 80, count: 10, timeoutMs: 200, concurrency: 10 });
    expect(r).toMatchObject({ timeouts: 10, answers: {} });
  });

  it('SCTP: served when the kernel has it, a clear error when not', async () => {
    const c = cluster();
    const run = () => c.probe({ from: 'client', proto: 'sctp', dst: POD1, port: 9000, count: 3 });
    if (c.sctpSupported) {
      await expect(run()).resolves.toMatchObject({ answers: { pod1: 3 }, sources: { pod1: [CLIENT] } });
    } else {
      expect(c.sctpReason).toMatch(/kernel has no SCTP|socat/);
      await expect(run()).rejects.toThrow(/kernel has no SCTP|socat/);
    }
  });

  describe('with nft rules in the node', () => {
    beforeAll(async () => {
      await timed('load nft rules', () => execIn(cluster().nodeNs, ['nft', '-f', '-'], { input: RULES }));
    });

    it('DNAT: client → service reaches pod1 with the client address preserved', async () => {
      const tcp = await timed('client->svc tcp x200', () =>
        cluster().probe({ from: 'client', proto: 'tcp', dst: SVC, port: 80, count: 200, timeoutMs: 1000 }),
      );
      expect(tcp).toMatchObject({ answers: { pod1: 200 }, sources: { pod1: [CLIENT] }, refused: 0, timeouts: 0 });
      const udp = await cluster().probe({ from: 'client', proto: 'udp', dst: SVC, port: 53, count: 50 });
      expect(udp).toMatchObject({ answers: { pod1: 50 }, sources: { pod1: [CLIENT] } });
    });

    it('DNAT: pod → service → other pod works, replies un-NATed by the node', async () => {
      for (const from of ['pod2', 'pod3']) {
        const r = await cluster().probe({ from, proto: 'tcp', dst: SVC, port: 80, count: 50 });
        expect(r).toMatchObject({ answers: { pod1: 50 }, sources: { pod1: [from === 'pod2' ? POD2 : POD3] }, timeouts: 0 });
      }
      const u = await cluster().probe({ from: 'pod2', proto: 'udp', dst: SVC, port: 53, count: 50 });
      expect(u).toMatchObject({ answers: { pod1: 50 }, sources: { pod1: [POD2] } });
    });

    it('reject: refused quickly for TCP and UDP', async () => {
      for (const proto of ['tcp', 'udp'] as const) {
        const r = await timed(`reject ${proto} x100`, () =>
          cluster().probe({ from: 'client', proto, dst: SVC_REJECT, port: 80, count: 100, timeoutMs: 1000 }),
        );
        expect(r).toMatchObject({ refused: 100, timeouts: 0, answers: {} });
        expect(r.refusedFastMs).toBeLessThan(500);
      }
    });

    it('drop: timeouts for TCP and UDP', async () => {
      for (const proto of ['tcp', 'udp'] as const) {
        const r = await cluster().probe({ from: 'client', proto, dst: SVC_DROP, port: 80, count: 20, timeoutMs: 300, concurrency: 20 });
        expect(r).toMatchObject({ timeouts: 20, refused: 0, answers: {} });
      }
    });
  });

  it('teardown leaves no namespace and no server process of ours', async () => {
    const c = cluster();
    const pids = c.serverPids;
    expect(pids.length).toBe(3);
    expect(pids.every(alive)).toBe(true);
    await timed('teardown', () => c.teardown());
    await c.teardown(); // idempotent
    expect(await ours()).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    await expect(c.probe({ from: 'client', proto: 'tcp', dst: POD1, port: 80 })).rejects.toThrow(/after teardown/);
  });
});
