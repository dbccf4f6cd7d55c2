import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LockTimeoutError, lockPath, lockTarget, withTargetLock } from '../src/lock.ts';
import type { Target } from '../src/types.ts';

const target: Target = { kind: 'netns', name: `kpb-locktest-${process.pid}` };

describe('lock file names', () => {
  it('are the target ids under /run/kpb/locks (names other kpb processes look for)', () => {
    expect(lockPath({ kind: 'host' })).toBe('/run/kpb/locks/host.lock');
    expect(lockPath({ kind: 'netns', name: 'kpb-a-1-2' })).toBe('/run/kpb/locks/netns-kpb-a-1-2.lock');
  });
});

describe.skipIf(process.getuid?.() !== 0)('target lock', () => {
  it('serializes holders and times out clearly', async () => {
    const first = await lockTarget(target);
    await expect(lockTarget(target, 1)).rejects.toBeInstanceOf(LockTimeoutError);
    await first.release();
    const order: string[] = [];
    await Promise.all([
      withTargetLock(target, async () => {
        order.push('a-in');
        await new Promise((r) => setTimeout(r, 100));
        order.push('a-out');
      }),
      new Promise((r) => setTimeout(r, 20)).then(() => withTargetLock(target, async () => void order.push('b'))),
    ]);
    expect(order).toEqual(['a-in', 'a-out', 'b']);
  });

  it('is released when its holder is killed with SIGKILL', async () => {
    // A separate process takes the lock and is killed: the lock must come free at once.
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      import { lockTarget } from ${JSON.stringify(new URL('../src/lock.ts', import.meta.url).pathname)};
      await lockTarget(${JSON.stringify(target)}); console.log('held'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('holder never took the lock')), 20_000);
      holder.stdout.on('data', (b: Buffer) => b.toString().includes('held') && (clearTimeout(timer), resolve()));
    });
    await expect(lockTarget(target, 1)).rejects.toBeInstanceOf(LockTimeoutError);
    holder.kill('SIGKILL');
    const lock = await lockTarget(target, 5);
    await lock.release();
  }, 30_000);
});
