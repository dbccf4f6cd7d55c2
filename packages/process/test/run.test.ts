import { describe, expect, it } from 'vitest';
import { ProcessError, runChecked, runProcess } from '../src/index.ts';
import type { ProcessResult } from '../src/index.ts';

describe('runProcess', () => {
  it('feeds the input and collects both outputs and the exit code', async () => {
    const r = await runProcess(['sh', '-c', 'cat; echo oops >&2; exit 3'], { input: 'hello\n', timeoutMs: 10_000 });
    expect(r).toMatchObject({ code: 3, stdout: 'hello\n', stderr: 'oops\n' });
    expect(r.ms).toBeGreaterThan(0);
  });
  it('gives an empty standard input when there is no input', async () => {
    expect((await runProcess(['cat'], { timeoutMs: 10_000 })).stdout).toBe('');
  });
  it('kills the process after the timeout and says so', async () => {
    const r = await runProcess(['sleep', '10'], { timeoutMs: 100 });
    expect(r.code).toBe(128);
    expect(r.stderr).toContain('(killed after 100 ms)');
  });
  it('keeps at most maxOutputBytes of output', async () => {
    const r = await runProcess(['sh', '-c', 'head -c 100000 /dev/zero'], { timeoutMs: 10_000, maxOutputBytes: 1000 });
    expect(r.stdout.length).toBeLessThanOrEqual(1000);
  });
  it('rejects when the command cannot start', async () => {
    await expect(runProcess(['/no/such/command'], { timeoutMs: 1000 })).rejects.toThrow(/ENOENT/);
    await expect(runProcess(['/no/such/command'], { timeoutMs: 1000, stdoutToFile: true })).rejects.toThrow(/ENOENT/);
  });
});

describe('runProcess with stdoutToFile', () => {
  it('collects all of a large output, and stderr through its pipe', async () => {
    const r = await runProcess(['sh', '-c', 'seq 1 200000; echo done >&2'], { timeoutMs: 10_000, stdoutToFile: true });
    const lines = r.stdout.split('\n');
    expect(lines.length).toBe(200_001);
    expect(lines[199_999]).toBe('200000');
    expect(r.stderr).toBe('done\n');
  });
  it('lets the process finish while this thread is busy (a pipe would hold it at 64 KiB)', async () => {
    // The process prints 4 MB, then the time it finished; this thread does not read for 1.5 s.
    const run = runProcess(['sh', '-c', 'head -c 4000000 /dev/zero; date +%s%3N >&2'], { timeoutMs: 10_000, stdoutToFile: true });
    const busyUntil = Date.now() + 1500;
    while (Date.now() < busyUntil) {
      /* busy: no event is handled */
    }
    const r = await run;
    expect(r.stdout.length).toBe(4_000_000);
    expect(Number(r.stderr.trim())).toBeLessThan(busyUntil);
  });
  it('keeps at most maxOutputBytes of it', async () => {
    const r = await runProcess(['sh', '-c', 'head -c 100000 /dev/zero'], { timeoutMs: 10_000, maxOutputBytes: 1000, stdoutToFile: true });
    expect(r.stdout.length).toBe(1000);
  });
});

class DemoError extends ProcessError {}

describe('runChecked and ProcessError', () => {
  const failure = (r: ProcessResult) => new DemoError('demo', r);
  it('throws the failure error with the process’s first words, named after the subclass', async () => {
    const e = await runChecked(['sh', '-c', 'echo first >&2; exit 4'], { timeoutMs: 10_000, what: 'sh', failure }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DemoError);
    expect(e).toMatchObject({ name: 'DemoError', message: 'demo failed (exit 4): first', result: { code: 4 } });
  });
  it('resolves with a non-zero result when the failure is allowed', async () => {
    const r = await runChecked(['sh', '-c', 'exit 2'], { timeoutMs: 10_000, what: 'sh', failure, allowFailure: true });
    expect(r.code).toBe(2);
  });
  it('says it cannot run the process when it cannot start', async () => {
    await expect(runChecked(['/no/such/command'], { timeoutMs: 1000, what: 'the demo', failure })).rejects.toThrow(/^cannot run the demo: .*ENOENT/);
  });
  it('shows stdout when stderr is empty, and no colon when it said nothing', () => {
    expect(new DemoError('x', { code: 1, stdout: 'out\n', stderr: '' }).message).toBe('x failed (exit 1): out');
    expect(new DemoError('x', { code: 1, stdout: '', stderr: '' }).message).toBe('x failed (exit 1)');
  });
});
