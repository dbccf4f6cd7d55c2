/**
 * Drift: a rule, chain or map element changed or deleted by hand behind kpb's back →
 * `kpb verify` names exactly that object and exits 1; `kpb sync --from X --to X` repairs it
 * (a full apply, and says so); verify exits 0 afterwards. Every backend, real CLI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canUseKernel } from '@kpb/testing';
import { BACKEND_CASES, clusterPair, inNamespace, kpb, run, SETTINGS_FLAGS, writePair, type BackendCase, type NsTarget } from '../src/index.ts';

const pair = clusterPair(20);
const dir = mkdtempSync(join(tmpdir(), 'kpb-rob-drift-'));
const files = writePair(pair, dir);
let drifts = 0;
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  console.log(`[robustness] drift: ${drifts} hand edits detected object by object and repaired by sync`);
});

interface Edit {
  readonly what: string;
  /** Makes the edit; returns a pattern the verify report must match. */
  apply(t: NsTarget): Promise<RegExp>;
}

function edits(bc: BackendCase): Edit[] {
  if (bc.kind.startsWith('iptables')) {
    const ipt = bc.kind === 'iptables-legacy' ? 'iptables-legacy' : 'iptables-nft';
    return [
      {
        what: 'a rule deleted',
        apply: async (t) => {
          await run(t, [ipt, '-t', 'nat', '-D', 'KUBE-SERVICES', '1']);
          return /missing\s+nat rule in KUBE-SERVICES: -A KUBE-SERVICES /;
        },
      },
      {
        what: 'a rule changed (DNAT target rewritten)',
        apply: async (t) => {
          const save = await run(t, [`${ipt}-save`, '-t', 'nat']);
          const sep = save.split('\n').find((l) => l.startsWith('-A KUBE-SEP-') && l.includes('--to-destination'))!;
          const chain = sep.split(' ')[1]!;
          await run(t, [ipt, '-t', 'nat', '-R', chain, '2', '-p', 'tcp', '-j', 'DNAT', '--to-destination', '192.0.2.66:80']);
          return new RegExp(`(missing|unexpected|changed)\\s+nat rule in ${chain}`);
        },
      },
      {
        what: 'a chain deleted',
        apply: async (t) => {
          await run(t, [ipt, '-t', 'filter', '-F', 'KUBE-FORWARD']);
          await run(t, [ipt, '-t', 'filter', '-D', 'FORWARD', '-m', 'comment', '--comment', 'kubernetes forwarding rules', '-j', 'KUBE-FORWARD']);
          await run(t, [ipt, '-t', 'filter', '-X', 'KUBE-FORWARD']);
          return /filter chain KUBE-FORWARD/;
        },
      },
    ];
  }
  const ns = 'ip kube-proxy';
  // Layout maps puts the common services' endpoints in a data map, and leaves service-ips empty.
  const map = bc.id.endsWith('/maps') ? 'service-endpoints' : 'service-ips';
  return [
    {
      what: 'a map element deleted',
      apply: async (t) => {
        const list = await run(t, ['nft', 'list', 'map', 'ip', 'kube-proxy', map]);
        const el = /elements = \{ ([^:]+) :/.exec(list)![1]!.trim();
        await run(t, ['nft', `delete element ${ns} ${map} { ${el} }`]);
        return new RegExp(`missing\\s+map ${map} element ${el.replace(/\./g, '\\.')}`);
      },
    },
    {
      what: 'a chain flushed (rules deleted)',
      apply: async (t) => {
        await run(t, ['nft', `flush chain ${ns} masquerading`]);
        return /changed\s+chain masquerading\n(\s+- .*\n)*\s+- masquerade fully-random/;
      },
    },
    {
      what: 'a rule added by hand',
      apply: async (t) => {
        await run(t, ['nft', `add rule ${ns} services ip saddr 192.0.2.9 accept`]);
        return /changed\s+chain services\n\s+\+ ip saddr 192\.0\.2\.9 accept/;
      },
    },
  ];
}

describe.skipIf(!canUseKernel())('drift behind kpb\'s back: verify names it, sync repairs it', () => {
  for (const bc of BACKEND_CASES) {
    it.skipIf(bc.unavailable !== undefined)(`${bc.id}${bc.unavailable ? ` (skipped: ${bc.unavailable})` : ''}`, async () => {
      await inNamespace(async (t) => {
        const args = [...bc.cliArgs, ...SETTINGS_FLAGS, '--netns', t.name];
        await bc.make().apply(t, pair.oldPlan);
        // All edits at once (each CLI run costs seconds here); the report must name each one.
        const list = edits(bc);
        const wants: RegExp[] = [];
        for (const edit of list) wants.push(await edit.apply(t));
        const v = await kpb(['verify', ...args, '--input', files.old]);
        expect(v.code, `${v.stdout}${v.stderr}`).toBe(1);
        list.forEach((edit, i) => expect(v.stdout, edit.what).toMatch(wants[i]!));
        const count = Number(/in (\d+) place/.exec(v.stdout)?.[1]);
        expect(count, v.stdout).toBeGreaterThanOrEqual(list.length);
        // nft/nftnl: exactly the edited objects; iptables: a changed rule may read as missing + unexpected.
        if (bc.kind === 'nft' || bc.kind === 'nftnl') expect(count, v.stdout).toBe(list.length);
        else expect(count, `only the edited objects: ${v.stdout}`).toBeLessThanOrEqual(3 * list.length);
        const s = await kpb(['sync', ...args, '--from', files.old, '--to', files.old]);
        expect(s.code, s.stderr).toBe(0);
        expect(s.stdout).toMatch(/full apply \(drift/);
        const ok = await kpb(['verify', ...args, '--input', files.old]);
        expect(ok.code, ok.stdout).toBe(0);
        drifts += list.length;
      });
    });
  }
});
