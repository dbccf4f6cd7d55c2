/**
 * `--family`: a dual-stack run compiles one plan per family (the one-service change touches both),
 * its results.json says so, and the report names the mode in every figure; files without the
 * field are IPv4 runs. Generation figures only (no root needed).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, nodeSettings, type Plan } from '@kpb/compiler';
import { GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE } from '@kpb/model';
import { selectVariants } from '../src/backends.ts';
import { buildBenchCluster } from '../src/cluster.ts';
import { writeReport } from '../src/report.ts';
import { familyModeOf, validateResults } from '../src/results.ts';
import type { ResultsFile } from '../src/results.ts';
import { runBench } from '../src/runner.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kpb-bench-family-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The services (namespace/name) with a service port whose plan entry differs between `a` and `b` (same family). */
function changedServices(a: Plan, b: Plan): string[] {
  const before = new Map(a.servicePorts.map((p) => [p.key, JSON.stringify(p)]));
  return [...new Set(b.servicePorts.filter((p) => before.get(p.key) !== JSON.stringify(p)).map((p) => `${p.namespace}/${p.serviceName}`))];
}

describe('bench --family', () => {
  it('ipv4 (the default) compiles what the bench always did: one plan, the IPv4 cluster CIDR', () => {
    const bc = buildBenchCluster(200, 3, 1);
    expect(bc.family).toBe('ipv4');
    expect(bc.plans).toHaveLength(1);
    expect(bc.plans[0]).toEqual(compile(bc.cluster, nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR })));
  });

  it('dual: an IPv4 and an IPv6 plan; the one-service change is a dual-stack service, changed in both', () => {
    const bc = buildBenchCluster(200, 3, 1, 'dual');
    expect(bc.plans.map((p) => p.family)).toEqual(['IPv4', 'IPv6']);
    expect(bc.compile().map((p) => p.family)).toEqual(['IPv4', 'IPv6']);
    const [v4, v6] = bc.plans.map((p, i) => changedServices(p, bc.plusOne[i]!));
    expect(v4).toHaveLength(1);
    expect(v6).toEqual(v4);
    // churn: every family has changes, the first-packet probes are IPv4.
    for (let i = 0; i < 2; i++) expect(changedServices(bc.plans[i]!, bc.churn[i]!).length).toBeGreaterThan(0);
    expect(bc.probeFamily).toBe('IPv4');
    expect(bc.firstIP).toMatch(/^10\./);
  });

  it('a dual run records its family in results.json and the report names it', async () => {
    const out = path.join(tmp, 'dual');
    const { file } = await runBench({
      variants: selectVariants(['nft/flat', 'iptables/legacy']),
      services: [200],
      endpointsPerService: 3,
      repeats: 1,
      warmup: 0,
      seed: 1,
      family: 'dual',
      capSeconds: 30,
      quick: true,
      out,
      incrementalSamples: 1,
      latencyCount: 1,
      generateMs: 10,
      kernel: false,
      figures: ['generate'],
      progress: false,
      command: 'vitest family',
    });
    const data = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
    expect(validateResults(data)).toEqual([]);
    expect(data.parameters?.family).toBe('dual');
    expect(familyModeOf(data)).toBe('dual');
    expect(data.results.find((r) => r.operation === 'generate')?.median).toBeGreaterThan(0);
    const md = readFileSync(await writeReport([out], out), 'utf8');
    expect(md).toMatch(/### generate \(ms; dual\)/);
    expect(md).toContain('| backend/layout | 200×3 svc×ep, dual |');
    expect(md).toMatch(/\| IP families \(`--family`\) \| dual \(dual-stack/);
    expect(md).toMatch(/\| run \| services 200 × 3 endpoints, dual,/);
    expect(md).toMatch(/- \*\*generate\*\* at 200 services, dual: /);
  }, 120_000);

  it('a results file without a family is an IPv4 run; an unknown family is refused', () => {
    const old = { parameters: { services: [1], endpointsPerService: 1, repeats: 1, warmup: 0, seed: 1, capSeconds: 1, quick: false, command: '' } };
    expect(familyModeOf(old)).toBe('ipv4');
    expect(familyModeOf({})).toBe('ipv4');
    expect(validateResults({ schema: 'kpb-bench/1', environment: {}, parameters: { family: 'ipv5' }, results: [] })).toContainEqual(expect.stringMatching(/parameters\.family is "ipv5"/));
  });
});
