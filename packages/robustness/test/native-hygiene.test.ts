/**
 * Native addon hygiene: hundreds of applyBatch / getGeneration / listRuleset cycles (and failing
 * batches, and wrong argument types) under valgrind memcheck — no definite leak and no invalid
 * read or write in a stack that touches the addon, libnftnl or libmnl (Node's own noise is
 * ignored); and a batch far larger than one netlink message (1M set elements) arrives whole.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { canUseKernel } from '@kpb/testing';
import { ADDON_PATH, applyBatch, BatchBuilder, EXPR_SCHEMA, listRuleset, nativeAvailable } from '@kpb/native';
import { inNamespace, run, scaled } from '../src/index.ts';

const SCRIPT = fileURLToPath(new URL('../scripts/addon-cycles.mjs', import.meta.url));
const CYCLES = Number(process.env.KPB_VALGRIND_CYCLES ?? scaled(60, 2500));
const dir = mkdtempSync(join(tmpdir(), 'kpb-rob-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasValgrind = spawnSync('valgrind', ['--version']).status === 0;
const OURS = /kpb_nftnl|libnftnl|libmnl/;

/** valgrind XML → errors whose stack touches the addon or its libraries. */
function ourErrors(xml: string): { kind: string; stack: string }[] {
  const out: { kind: string; stack: string }[] = [];
  for (const m of xml.matchAll(/<error>([\s\S]*?)<\/error>/g)) {
    const body = m[1]!;
    const kind = /<kind>(\w+)<\/kind>/.exec(body)?.[1] ?? '?';
    const frames = [...body.matchAll(/<frame>([\s\S]*?)<\/frame>/g)].map((f) => `${/<fn>(.*?)<\/fn>/.exec(f[1]!)?.[1] ?? '?'} (${/<obj>(.*?)<\/obj>/.exec(f[1]!)?.[1] ?? '?'})`);
    const stack = frames.join('\n    ');
    const relevant = kind === 'Leak_DefinitelyLost' || /^Invalid|Uninit|Overlap|Mismatched|InvalidFree/.test(kind);
    if (relevant && OURS.test(stack)) out.push({ kind, stack });
  }
  return out;
}

function testBatches(): { good: string; bad: string; schema: string } {
  const b = new BatchBuilder();
  const fam = 'ip' as const;
  b.addTable({ family: fam, name: 'kpbtest' });
  b.addChain({ family: fam, table: 'kpbtest', name: 'svc' });
  b.addChain({ family: fam, table: 'kpbtest', name: 'pre', hook: 'prerouting', priority: -100, type: 'nat', policy: 'accept' });
  const ref = { family: fam, table: 'kpbtest', name: 'addrs' };
  b.addSet({ ...ref, keyType: 7, keyLen: 4 });
  const elems = [];
  for (let i = 0; i < 600; i++) elems.push({ key: Uint8Array.of(10, 1, i >> 8, i & 0xff) }); // two messages
  b.addElements(ref, elems);
  b.addRule({ family: fam, table: 'kpbtest', chain: 'pre', exprs: [{ name: 'counter', attrs: {} }] }, 'rule 0 in chain pre');
  const bad = new BatchBuilder();
  bad.addTable({ family: fam, name: 'kpbtest' });
  bad.addRule({ family: fam, table: 'kpbtest', chain: 'no-such-chain', exprs: [{ name: 'counter', attrs: {} }] }, 'rule in a missing chain');
  bad.addChain({ family: fam, table: 'kpbtest', name: 'after' });
  const paths = { good: join(dir, 'good.bin'), bad: join(dir, 'bad.bin'), schema: join(dir, 'schema.json') };
  writeFileSync(paths.good, b.finish());
  writeFileSync(paths.bad, bad.finish());
  writeFileSync(paths.schema, JSON.stringify(EXPR_SCHEMA));
  return paths;
}

describe.skipIf(!canUseKernel() || !nativeAvailable())('native addon hygiene', () => {
  it.skipIf(!hasValgrind && process.env.CI !== 'true')(`valgrind memcheck: ${CYCLES} cycles, no definite leak, no invalid access in the addon or libnftnl`, async () => {
    expect(hasValgrind, 'valgrind is needed (apt-get install valgrind)').toBe(true);
    const batches = testBatches();
    await inNamespace(async (t) => {
      const xml = join(dir, 'vg.xml');
      const r = spawnSync(
        'valgrind',
        ['--tool=memcheck', '--leak-check=full', '--show-leak-kinds=definite', '--errors-for-leak-kinds=definite', '--xml=yes', `--xml-file=${xml}`,
          '--error-exitcode=0', '--num-callers=30', process.execPath, '--jitless', SCRIPT, ADDON_PATH, t.name, String(CYCLES), batches.good, batches.bad, batches.schema],
        { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 },
      );
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { cycles: number; typeErrors: number; rejected: number };
      expect(result).toMatchObject({ cycles: CYCLES, typeErrors: 5, rejected: Math.ceil(CYCLES / 10) });
      const errors = ourErrors(readFileSync(xml, 'utf8'));
      expect(errors.map((e) => `${e.kind}\n    ${e.stack}`).join('\n')).toBe('');
      const leaks = /<kind>Leak_DefinitelyLost<\/kind>/g;
      console.log(`[robustness] valgrind: ${CYCLES} applyBatch/getGeneration/listRuleset cycles + ${result.rejected} rejected batches + 5 TypeErrors; errors in addon/libnftnl/libmnl stacks: ${errors.length} (definite-leak records in all of node: ${(readFileSync(xml, 'utf8').match(leaks) ?? []).length})`);
    });
  });

  it('1M set elements in one batch: split into many messages, all arrive', async () => {
    await inNamespace(async (t) => {
      const N = 1_000_000;
      const b = new BatchBuilder(N * 24);
      const ref = { family: 'ip' as const, table: 'big', name: 'addrs' };
      b.addTable({ family: 'ip', name: 'big' });
      b.addSet({ ...ref, keyType: 7, keyLen: 4, size: 2 * N });
      const key = new Uint8Array(4);
      const elems: { key: Uint8Array }[] = [];
      for (let i = 0; i < N; i++) {
        key[0] = 10;
        key[1] = (i >> 16) & 0xff;
        key[2] = (i >> 8) & 0xff;
        key[3] = i & 0xff;
        elems.push({ key: key.slice() });
      }
      b.addElements(ref, elems);
      const r = await applyBatch(t.name, b.finish());
      expect(r.messages).toBeGreaterThan(N / 512);
      const l = await listRuleset(t.name, 'ip', 'big');
      expect(l.sets[0]!.elements).toHaveLength(N);
      const keys = new Set(l.sets[0]!.elements.map((e) => e.key));
      expect(keys.size).toBe(N);
      expect(keys.has('0a000000') && keys.has('0a0f423f')).toBe(true);
      // `nft list set` of 1M elements takes ~1 min here: only in long runs.
      if (process.env.KPB_FUZZ_RUNS) {
        const counted = (await run(t, ['sh', '-c', 'nft list set ip big addrs | tr , "\\n" | grep -c "10\\."'], undefined, 300_000)).trim();
        expect(Number(counted)).toBe(N);
      }
      console.log(`[robustness] 1M elements: ${r.messages} netlink messages, ${(r.bytes / 1e6).toFixed(1)} MB, all ${N} listed by the addon${process.env.KPB_FUZZ_RUNS ? ' and by nft' : ''}`);
    });
  });
});

if (canUseKernel() && !hasValgrind && process.env.CI === 'true') execFileSync('valgrind', ['--version']);
