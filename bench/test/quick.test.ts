/**
 * End to end: a `--quick` run into a temp folder, as root (skipped otherwise; must run under
 * CI=true). Checks the JSON schema and that every figure is present and positive for every
 * backend that loaded — not how fast anything is.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canUseKernel, listNamespaces } from '@kpb/testing';
import { VARIANTS } from '../src/backends.ts';
import { writeReport } from '../src/report.ts';
import { validateResults } from '../src/results.ts';
import type { ResultsFile } from '../src/results.ts';
import { expectedOperations } from '../src/figures.ts';
import { runBench } from '../src/runner.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kpb-bench-quick-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!canUseKernel())('bench --quick end to end (root)', () => {
  it('writes a valid results.json with every figure of every loaded backend, and a report', async () => {
    const out = path.join(tmp, 'quick');
    const { file } = await runBench({
      variants: VARIANTS,
      services: [200],
      endpointsPerService: 3,
      repeats: 1,
      warmup: 0,
      seed: 1,
      capSeconds: 30,
      quick: true,
      out,
      incrementalSamples: 2,
      latencyCount: 8,
      generateMs: 20,
      progress: false,
      command: 'vitest quick',
    });
    const data = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
    expect(validateResults(data)).toEqual([]);
    expect(data.environment.kernelFigures).toBe(true);
    expect(data.backends).toHaveLength(VARIANTS.length);

    const loaded = data.backends!.filter((b) => b.available);
    for (const b of data.backends!.filter((x) => !x.available)) {
      // Not loading is allowed (a backend still being written); it must say why.
      expect(b.reason, `${b.backend}/${b.layout}`).toBeTruthy();
    }
    for (const b of loaded) {
      const id = `${b.backend}/${b.layout}`;
      expect(b.kernelError, `${id} kernel error`).toBeUndefined();
      const v = VARIANTS.find((x) => x.backend === b.backend && x.variant === b.layout)!;
      for (const op of expectedOperations(v, true)) {
        const row = data.results.find((r) => r.backend === b.backend && r.layout === b.layout && r.operation === op && r.services === 200);
        expect(row, `${id} ${op} present`).toBeDefined();
        expect(row!.overCap ?? 0, `${id} ${op} over cap`).toBe(0);
        expect(row!.samples.length, `${id} ${op} samples`).toBeGreaterThan(0);
        // No sync sample fell back to a full apply (a drift check that did is no sample at all).
        expect(row!.fullApplies ?? 0, `${id} ${op} full applies`).toBe(0);
        // One load pair per visit that sampled the row: one visit in a one-round run.
        expect(row!.load, `${id} ${op} load`).toHaveLength(1);
        if (/^objects\/(sets|elements)$/.test(op)) {
          // iptables has no sets.
          expect(row!.median, `${id} ${op}`).toBeGreaterThanOrEqual(b.backend === 'iptables' ? 0 : 1);
          continue;
        }
        if (/\/userspace(-share)?$/.test(op)) {
          // kpb's part is the rest of a figure after the tool or kernel part: at 200 services, noise may make it 0.
          expect(row!.min!, `${id} ${op} min`).toBeGreaterThanOrEqual(0);
          continue;
        }
        expect(row!.median, `${id} ${op} median`).toBeGreaterThan(0);
        expect(row!.min!, `${id} ${op} min`).toBeGreaterThan(0);
      }
      if (v.figures === undefined) expect(expectedOperations(v, true), id).toEqual(expect.arrayContaining(['drift-check', 'verify/tool', 'incremental-1/kernel']));
      expect(expectedOperations(v, true).includes('verify/addon'), `${id} verify/addon`).toBe(b.backend === 'nftnl');
    }
    const md = readFileSync(await writeReport([out], out), 'utf8');
    expect(md).toContain('## Figures');
    expect(md).toContain('## Read-back against the listing tool alone');
    expect(md).toContain('## kpb userspace vs tool/kernel');
    // Nothing of ours is left behind.
    expect((await listNamespaces()).filter((n) => n.includes(`-${process.pid}-`))).toEqual([]);
  }, 400_000);
});
