/**
 * `kpb report --collect`: a log like `kubectl logs -l job-name=kpb-bench --prefix` of two pods,
 * made from two real result folders, splits into a folder per host and one merged report.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectReport, splitCollectedLog } from '../src/collect.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kpb-bench-collect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sources = { 'node-a': 'results/2026-12-02-vm-2core-10k', 'node-b': 'results/2026-12-02b-vm-2core-10k' } as const;
const resultsText = (dir: string) => readFileSync(path.join(repo, dir, 'results.json'), 'utf8');

/** What entrypoint.sh prints, with kubectl's --prefix, the two pods' lines interleaved. */
function podLog(): string {
  const pods = Object.entries(sources).map(([host, dir], i) =>
    [`kpb-bench on ${host}: --quick`, `=== kpb-results ${host} begin ===`, ...resultsText(dir).split('\n'), `=== kpb-results ${host} end ===`, `=== kpb-report ${host} begin ===`, '# kpb bench report', `=== kpb-report ${host} end ===`].map(
      (l) => `[pod/kpb-bench-${i}-x7k2p/bench] ${l}`,
    ),
  );
  const lines: string[] = [];
  for (let i = 0; i < Math.max(...pods.map((p) => p.length)); i++) for (const p of pods) if (p[i] !== undefined) lines.push(p[i]!);
  return `${lines.join('\n')}\n`;
}

describe('report --collect', () => {
  it('splits interleaved pod logs into a results folder per host and merges them, a column per host', async () => {
    const out = path.join(tmp, 'merged');
    const { report, hosts } = await collectReport(podLog(), out);
    expect(hosts).toEqual(['node-a', 'node-b']);
    for (const [host, dir] of Object.entries(sources)) {
      const got = JSON.parse(readFileSync(path.join(out, host, 'results.json'), 'utf8'));
      const want = JSON.parse(resultsText(dir));
      // The same file, but for the hostname: the node's name from the marker.
      expect(got).toEqual({ ...want, environment: { ...want.environment, hostname: host } });
    }
    const md = readFileSync(report, 'utf8');
    expect(md).toContain('| node-a | node-b |');
    expect(md).toContain('node-a: nftnl/flat');
    expect(md).toContain('node-b: nftnl/flat');
    expect(existsSync(path.join(out, 'index.html'))).toBe(true);
  });

  it('reads plain logs too (one pod, no prefix), and refuses a block without its end marker or without JSON', async () => {
    expect([...splitCollectedLog(`noise\n=== kpb-results h1 begin ===\n{"a":1}\n=== kpb-results h1 end ===\n`)]).toEqual([['h1', '{"a":1}']]);
    expect(() => splitCollectedLog('=== kpb-results h1 begin ===\n{}\n')).toThrow(/no end marker for h1/);
    await expect(collectReport('=== kpb-results h1 begin ===\nnot json\n=== kpb-results h1 end ===\n', path.join(tmp, 'bad'))).rejects.toThrow(/h1 is not JSON/);
    await expect(collectReport('nothing here\n', path.join(tmp, 'none'))).rejects.toThrow(/no `=== kpb-results/);
  });
});
