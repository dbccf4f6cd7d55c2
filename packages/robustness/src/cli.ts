/**
 * The real `kpb` binary in a child process, as a user (or a supervisor that kills it) runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const KPB_BIN = fileURLToPath(new URL('../../cli/bin/kpb.js', import.meta.url));

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly done: Promise<CliRun>;
}

/** Start `kpb args…` (stdin: `input`, or nothing). The process is killed after `timeoutMs`. */
export function startKpb(args: readonly string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const t0 = performance.now();
  const child = spawn(process.execPath, [KPB_BIN, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, KPB_DEBUG: '', ...options.env },
  });
  if (child.pid === undefined) throw new Error('cannot start kpb');
  const pid = child.pid;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: performance.now() - t0 });
    });
  });
  return { child, pid, done };
}

export function kpb(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return startKpb(args, options).done;
}

/** A V8/Node stack trace line (`    at foo (file:1:2)`) or an uncaught-error banner. */
export const STACK_TRACE = /^\s+at .+[:(]|node:internal|Uncaught|TypeError:|RangeError:|ReferenceError:|SyntaxError:/m;
