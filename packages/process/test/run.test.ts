import { describe, expect, it } from 'vitest';
import { runProcess } from '../src/index.ts';

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
  });
});
