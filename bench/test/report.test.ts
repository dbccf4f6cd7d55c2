import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { headlineMarkdown, writeReport } from '../src/report.ts';
import { makeRow, SCHEMA, validateResults } from '../src/results.ts';
import type { ResultsFile } from '../src/results.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kpb-bench-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Minimal XML well-formedness check: one root <svg>, every tag closed in order. */
function wellFormedSvg(svg: string): string | undefined {
  const body = svg.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '').trim();
  if (!body.startsWith('<svg') || !body.endsWith('</svg>')) return 'not an <svg> document';
  if (!/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/.test(body)) return 'no SVG namespace';
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tag.exec(body))) {
    if (/[<>]/.test(body.slice(last, m.index))) return `stray markup before offset ${m.index}`;
    last = tag.lastIndex;
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return `</${name}> closes the wrong element`;
    } else stack.push(name!);
  }
  return stack.length ? `unclosed <${stack.join('><')}>` : undefined;
}

function handMade(host: string, factor: number): ResultsFile {
  const rows = [];
  for (const [backend, layout, scale] of [['iptables', 'nft', 4], ['nft', 'flat', 2], ['nftnl', 'flat', 1]] as const) {
    for (const services of [1000, 10_000]) {
      const k = { backend, layout, services, endpointsPerService: 3 };
      const t = (services / 1000) * scale * factor;
      rows.push(makeRow({ ...k, operation: 'generate', unit: 'ms' }, [t, t * 1.1, t * 0.9]));
      rows.push(makeRow({ ...k, operation: 'full-sync', unit: 'ms' }, [10 * t, 11 * t, 9 * t, 10 * t, 10.5 * t, 9.5 * t]));
      rows.push(makeRow({ ...k, operation: 'full-sync/userspace', unit: 'ms' }, [2 * t]));
      rows.push(makeRow({ ...k, operation: 'full-sync/kernel', unit: 'ms' }, [8 * t]));
      rows.push(makeRow({ ...k, operation: 'full-sync/userspace-share', unit: '%' }, [20]));
      rows.push(makeRow({ ...k, operation: 'incremental-1', unit: 'ms' }, [t / 10, t / 9], backend === 'nft' ? { fullApplies: 1 } : {}));
      rows.push(makeRow({ ...k, operation: 'incremental-1/userspace', unit: 'ms' }, [t / 20]));
      rows.push(makeRow({ ...k, operation: 'incremental-1/kernel', unit: 'ms' }, [t / 20]));
      rows.push(makeRow({ ...k, operation: 'incremental-1/userspace-share', unit: '%' }, [backend === 'nftnl' ? 60 : 10]));
      rows.push(makeRow({ ...k, operation: 'verify', unit: 'ms' }, [3 * t]));
      rows.push(makeRow({ ...k, operation: 'verify/tool', unit: 'ms' }, [2 * t]));
      rows.push(makeRow({ ...k, operation: 'verify/kernel', unit: 'ms' }, [backend === 'nftnl' ? t : 2 * t]));
      if (backend === 'nftnl') rows.push(makeRow({ ...k, operation: 'verify/addon', unit: 'ms' }, [t]));
      rows.push(makeRow({ ...k, operation: 'drift-check', unit: 'ms' }, [4 * t]));
      rows.push(makeRow({ ...k, operation: 'first-packet-first', unit: 'us' }, [100, 110]));
      rows.push(makeRow({ ...k, operation: 'first-packet-last', unit: 'us' }, [100 + (backend === 'iptables' ? services / 10 : 5), 120]));
      rows.push(makeRow({ ...k, operation: 'rss-peak', unit: 'MB' }, [100 * scale]));
      // backend-independent, measured in each round: 80, 95 and 120 ms at 10k (nft's round slowest)
      rows.push(makeRow({ ...k, operation: 'compile', unit: 'ms' }, [(services / 1000) * { iptables: 8, nft: 12, nftnl: 9.5 }[backend]]));
    }
  }
  rows.push(makeRow({ backend: 'nftnl', layout: 'flat', services: 30_000, endpointsPerService: 3, operation: 'full-sync', unit: 'ms' }, [], { overCap: 1, notes: ['over the cap'] }));
  return {
    schema: SCHEMA,
    environment: {
      hostname: host, date: '2026-01-01T00:00:00Z', kernel: '6.18.0', cpuModel: 'Test CPU', cores: 2, memoryMB: 4096, node: 'v20.0.0',
      iptables: 'iptables v1.8.9 (nf_tables)', nft: 'nftables v1.0.6', libnftnl: '1.2.4', gitCommit: 'abc123', kernelFigures: true,
    },
    parameters: { services: [1000, 10_000], endpointsPerService: 3, repeats: 1, warmup: 0, seed: 1, capSeconds: 120, quick: false, command: 'test' },
    backends: [
      { backend: 'iptables', layout: 'nft', available: true },
      { backend: 'nft', layout: 'flat', available: true },
      { backend: 'nftnl', layout: 'flat', available: true },
      { backend: 'nftnl', layout: 'kube-proxy', available: false, reason: 'Cannot find module @kpb/native' },
    ],
    results: rows,
  };
}

function folder(name: string, data: ResultsFile): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'results.json'), JSON.stringify(data));
  return dir;
}

describe('report writer', () => {
  it('the hand-made file is a valid results file', () => {
    expect(validateResults(handMade('a', 1))).toEqual([]);
    expect(validateResults({ schema: 'other', results: 3 })).not.toEqual([]);
  });

  it('writes report.md with every figure, speed-ups, split, targets and valid SVG charts', async () => {
    const dir = folder('one', handMade('host-a', 1));
    const file = await writeReport([dir], dir);
    expect(file).toBe(path.join(dir, 'report.md'));
    const md = readFileSync(file, 'utf8');
    for (const h of ['## Environment', '## Backends', '## Targets', '## Figures', '## kpb userspace vs tool/kernel', '## Read-back against the listing tool alone', '## Speed-ups', '## Charts', '## Reading']) {
      expect(md).toContain(h);
    }
    for (const op of ['generate', 'full-sync', 'incremental-1', 'first-packet-first', 'first-packet-last', 'rss-peak']) {
      expect(md).toMatch(new RegExp(`### ${op} \\(`));
    }
    expect(md).toMatch(/\| iptables\/nft \| \*\*4\.00\*\* \(p90 4\.32\) n=3 \|/); // generate at 1000: 3.6, 4, 4.4
    expect(md).toContain('unavailable: Cannot find module @kpb/native');
    // No family recorded (as in files written before --family): an IPv4 run, and the figures do not say more.
    expect(md).toMatch(/\| IP families \(`--family`\) \| ipv4 \(IPv4 only\) \|/);
    expect(md).not.toMatch(/, (dual|ipv6)/);
    expect(md).toContain('> cap (1×)');
    expect(md).toMatch(/nftnl\/flat 4\.00×/); // full-sync speed-up vs iptables/nft
    expect(md).toMatch(/nftnl full-sync userspace ≤ 20%.*\| met \|/);
    // a figure measured in every backend's round is judged by its slowest round
    expect(md).toMatch(/compile \(cluster → plan\) ≤ 100 ms, in every round \| 120 ms \(slowest round: nft\/flat\) \| NOT met \|/);
    // relative targets: nft verify 60 against 1.3 × its tool's 40; nftnl incremental-1 ~1.05 against its kernel 0.5 + 5
    expect(md).toMatch(/nft verify ≤ 1\.3 × [^|]*\| [^|]*\(limit 52[^|]*\) \| NOT met \|/);
    expect(md).toMatch(/nftnl incremental-1 ≤ the kernel's commit time \+ 5 ms \| [^|]*\(limit 5\.5[^|]*\) \| met \|/);
    // kpb share over 20% is flagged (nftnl incremental-1: 60%), in its cell and the split table, and said what it means.
    expect(md).toMatch(/\| nftnl\/flat \| \*\*0\.11\*\* \(p90 [^|]*\) n=2 ⚑ kpb 60\.0% \|/);
    expect(md).toMatch(/\| incremental-1 \| nftnl\/flat \| 1000×3 \| [^|]* \| [^|]* \| [^|]* \| 60\.0% \| ⚑ \|/);
    expect(md).toMatch(/\| incremental-1 \| nft\/flat \| 1000×3 \| [^|]* \| [^|]* \| [^|]* \| 10\.0% \| {2}\|/);
    expect(md).toContain("⚑: kpb's own userspace");
    expect(md).toMatch(/⚑ 2 figure\(s\) are mostly kpb/);
    // A full-apply fall-back is counted in the cell and in the reading.
    expect(md).toMatch(/\| nft\/flat \| [^|]*n=2, 1× full apply \|/);
    expect(md).toContain('fell back to a full apply: incremental-1 nft/flat @ 1000 (1×)');
    // verify beside the tool alone: nftnl at 1000 (t = 1): verify 3, tool 2, addon 1, drift-check 4.
    expect(md).toMatch(/\| nftnl\/flat \| 1000×3 \| 3\.00 \| 2\.00 \| 1\.50× \| 1\.00 \| 3\.00× \| 4\.00 \| 4\.00× \|/);
    expect(md).toMatch(/\| nft\/flat \| 1000×3 \| 6\.00 \| 4\.00 \| 1\.50× \| – \| – \| 8\.00 \| 2\.00× \|/);
    const svgs = readdirSync(dir).filter((f) => f.endsWith('.svg'));
    expect(svgs).toEqual(expect.arrayContaining(['full-sync.svg', 'first-packet.svg', 'full-sync-split.svg', 'incremental-1.svg']));
    for (const f of svgs) {
      const svg = readFileSync(path.join(dir, f), 'utf8');
      expect(wellFormedSvg(svg), f).toBeUndefined();
      expect(md).toContain(`](${f})`);
    }
  });

  it('merges several result folders into one comparison', async () => {
    const a = folder('a', handMade('host-a', 1));
    const b = folder('b', handMade('host-b', 2));
    const out = path.join(tmp, 'merged');
    const md = readFileSync(await writeReport([a, b], out), 'utf8');
    expect(md).toContain('| host-a | host-b |');
    expect(md).toContain('host-a: nftnl/flat');
    expect(md).toContain('host-b: nftnl/flat');
    expect(wellFormedSvg(readFileSync(path.join(out, 'full-sync.svg'), 'utf8'))).toBeUndefined();
  });

  it('reads a published results folder written before the split figures (no shares but full-sync, no tool times)', async () => {
    const published = path.join(import.meta.dirname, '../../results/2026-11-26-vm-2core');
    const out = path.join(tmp, 'published');
    const md = readFileSync(await writeReport([published], out), 'utf8');
    expect(md).toContain('## kpb userspace vs tool/kernel');
    // resync has userspace but no share row there: the share comes from the medians.
    expect(md).toMatch(/\| resync \| nftnl\/flat \| 10000×3 \| [^|]* \| [^|]* \| [^|]* \| [\d.]+% \|/);
    expect(md).not.toContain('## Read-back against the listing tool alone');
  });

  it('grows like n^k: the table holds each fit (the hand-made figures are linear in n), the growth charts are drawn', async () => {
    const dir = folder('growth', handMade('host-g', 1));
    const md = readFileSync(await writeReport([dir], dir), 'utf8');
    expect(md).toContain('## Growth: grows like n^k');
    // generate: samples t, 1.1t, 0.9t at 1000 and 10 000 with t ∝ n: k = 1, from 6 samples.
    expect(md).toMatch(/\| generate \| nftnl\/flat \| 1000, 10000 \| n\^1\.00 \| 0\.90 – 1\.10 \| 6 \| {2}\|/);
    // nftnl/flat's full sync went over the cap at 30k: its line stops there, and the table says so.
    expect(md).toMatch(/\| full-sync \| nftnl\/flat \| 1000, 10000 \| n\^1\.00 \| [^|]* \| 12 \| over the cap from 30000 \|/);
    // rss-peak: one sample per size, no degree of freedom left.
    expect(md).toMatch(/\| rss-peak \| nftnl\/flat \| 1000, 10000 \| n\^0\.00 \| – \(too few samples\) \| 2 \|/);
    for (const f of ['growth-full-sync.svg', 'growth-generate.svg']) {
      expect(wellFormedSvg(readFileSync(path.join(dir, f), 'utf8')), f).toBeUndefined();
      expect(md).toContain(`](${f})`);
    }
    expect(readFileSync(path.join(dir, 'index.html'), 'utf8')).toContain('<h2>Growth: grows like n^k</h2>');
  });

  it('flags the cells whose 95% CI reaches beyond ±15% of the median, with a legend line', async () => {
    const data = handMade('host-w', 1);
    const wide = makeRow({ backend: 'nft', layout: 'flat', services: 1000, endpointsPerService: 3, operation: 'resync', unit: 'ms' }, [50, 100, 100, 100, 100, 200]);
    const narrow = makeRow({ backend: 'nft', layout: 'flat', services: 10_000, endpointsPerService: 3, operation: 'resync', unit: 'ms' }, [95, 100, 100, 100, 100, 105]);
    const dir = folder('wide', { ...data, results: [...data.results, wide, narrow] });
    const md = readFileSync(await writeReport([dir], dir), 'utf8');
    expect(md).toContain('‡: the 95% CI of the median reaches beyond ±15% of the median');
    expect(md).toMatch(/\| nft\/flat \| \*\*100\*\* \(p90 150\) \[50\.0–200\] ‡ n=6 \| \*\*100\*\* \(p90 103\) \[95\.0–105\] n=6 \|/);
    // full-sync's CI [9t, 11t] is ±10%: no cell of it is flagged.
    expect(md.split('### full-sync')[1]!.split('###')[0]).not.toContain('‡');
  });

  it('marks the cells whose visits ran with the load above the cores (§), with a legend line', async () => {
    const data = handMade('host-l', 1);
    const key = { backend: 'nft', layout: 'flat', services: 1000, endpointsPerService: 3, unit: 'ms' } as const;
    const busy = makeRow({ ...key, operation: 'resync' }, [100, 101], { load: [[0.5, 0.7], [3.9, 4.4]] });
    const calm = makeRow({ ...key, services: 10_000, operation: 'resync' }, [100, 101], { load: [[3.9, 4]] });
    const dir = folder('load', { ...data, results: [...data.results, busy, calm] });
    const md = readFileSync(await writeReport([dir], dir), 'utf8');
    expect(md).toContain('§: the 1-minute load average was above twice');
    // 2 cores: 4.4 after the second visit is busy, 4.0 is not.
    expect(md).toMatch(/\| nft\/flat \| \*\*101\*\* \(p90 [^|]*\) n=2 § \| \*\*101\*\* \(p90 [^|]*\) n=2 \|/);
  });

  it('headline: a row per variant at one size, kpb shares over 20%, counts, and the full-sync growth', () => {
    const dir = folder('headline', handMade('host-h', 1));
    const md = headlineMarkdown(dir, 10_000);
    // nftnl/flat at 10k (t = 10): full sync 100 ms, 20% share (not over), incremental 1.06 ms with 60%.
    expect(md).toMatch(/\| nftnl\/flat \| 100 ms \| – \| 1\.06 ms \(60%\) \| – \| 30\.0 ms \| 10\.0 ms \| 40\.0 ms \| 105 → 113 µs \| 100 MB \| n\^1\.00 \[[\d.]+–[\d.]+\] \|/);
    expect(md).toContain('| what a full sync sends and leaves |');
    expect(() => headlineMarkdown(dir, 5)).toThrow(/no figures at 5 services/);
  });

  it('refuses a folder without a valid results.json', async () => {
    const dir = path.join(tmp, 'empty');
    mkdirSync(dir, { recursive: true });
    await expect(writeReport([dir], dir)).rejects.toThrow(/cannot read/);
    writeFileSync(path.join(dir, 'results.json'), '{"schema":"x"}');
    await expect(writeReport([dir], dir)).rejects.toThrow(/not a kpb-bench\/1 results file/);
  });
});
