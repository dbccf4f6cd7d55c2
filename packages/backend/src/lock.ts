/**
 * One kpb at a time per target. The lock is a kernel flock(2) held by a small `flock(1)` child
 * process: it is released when that child exits, and the child exits as soon as kpb goes away —
 * however it goes, SIGKILL included — because its standard input (a pipe from kpb) closes.
 * No stale lock files, no pid guessing.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Target } from './types.ts';
import { describeTarget, targetId } from './exec.ts';

export const LOCK_DIR = '/run/kpb/locks';

export interface TargetLock {
  release(): Promise<void>;
}

export class LockTimeoutError extends Error {
  constructor(target: Target, seconds: number) {
    super(`another kpb is working on ${describeTarget(target)}; gave up waiting after ${seconds} s (try again, or raise the wait)`);
    this.name = 'LockTimeoutError';
  }
}

export function lockPath(target: Target): string {
  return `${LOCK_DIR}/${targetId(target)}.lock`;
}

/** Take the target's lock, waiting up to `waitSeconds`. */
export function lockTarget(target: Target, waitSeconds = 60): Promise<TargetLock> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const child = spawn('flock', ['--exclusive', '--wait', String(waitSeconds), lockPath(target), '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let done = false;
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (!done && out.includes('locked')) {
        done = true;
        resolve({
          release: async () => {
            child.stdin.end();
            await exited;
          },
        });
      }
    });
    child.once('error', (e) => {
      if (!done) reject(new Error(`cannot take the kpb lock (flock from util-linux is needed): ${e.message}`));
      done = true;
    });
    child.once('close', (code) => {
      if (done) return;
      done = true;
      reject(code === 1 ? new LockTimeoutError(target, waitSeconds) : new Error(`flock exited with ${code} while locking ${lockPath(target)}`));
    });
  });
}

/** Run `fn` holding the target's lock. */
export async function withTargetLock<T>(target: Target, fn: () => Promise<T>, waitSeconds = 60): Promise<T> {
  const lock = await lockTarget(target, waitSeconds);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
