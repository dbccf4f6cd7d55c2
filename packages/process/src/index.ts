/**
 * @kpb/process: the one process runner, used by the backends (`runTool` in @kpb/backend) and by
 * the test harness (`execHost` in @kpb/testing). A package of its own because the test harness
 * cannot depend on @kpb/backend (the compiler's tests use the harness).
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ProcessOptions {
  /** Written to the process's standard input. */
  readonly input?: string;
  /** Kill the process (SIGKILL) after this many milliseconds. */
  readonly timeoutMs: number;
  /** Keep at most this many bytes of output (stdout and stderr together); the rest is dropped. */
  readonly maxOutputBytes?: number;
  /**
   * Standard output goes to an (already unlinked) file, read when the process has exited, instead
   * of a pipe. A pipe holds 64 KiB: a tool that prints megabytes (a listing) stops whenever kpb's
   * thread is busy and has not read it, so work kpb does meanwhile (rendering what it will compare
   * the listing with) adds to the tool's time instead of overlapping it. Not for a process whose
   * output is unbounded: `maxOutputBytes` then limits what is read, not what is written.
   */
  readonly stdoutToFile?: boolean;
}

export interface ProcessResult {
  readonly code: number;
  readonly stdout: string;
  /** The process's standard error, plus a line saying so when it was killed. */
  readonly stderr: string;
  /** Wall time of the process, milliseconds. */
  readonly ms: number;
}

/**
 * Input goes through an (already unlinked) file, not a pipe: if kpb dies (SIGKILL) while the
 * process runs, the process still reads the WHOLE input and finishes its transaction. Through a
 * pipe it would read a truncated input, which iptables-restore commits table by table (filter
 * without nat) and `nft -f` commits entirely when the cut falls on a line boundary.
 */
function inputFile(input: string | undefined): number | undefined {
  if (input === undefined || input.length === 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kpb-input-'));
  try {
    const file = join(dir, 'input');
    writeFileSync(file, input, { mode: 0o600 });
    return openSync(file, 'r');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An unlinked file for a process's output: the descriptor it writes, and one kpb reads from the start. */
function outputFile(): { write: number; read: number } {
  const dir = mkdtempSync(join(tmpdir(), 'kpb-output-'));
  try {
    const file = join(dir, 'output');
    const write = openSync(file, 'w', 0o600);
    return { write, read: openSync(file, 'r') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** At most `limit` bytes of an output file, from the start; the descriptor is closed. */
function readOutput(fd: number, limit: number): Buffer {
  try {
    const buf = Buffer.allocUnsafe(Math.min(fstatSync(fd).size, limit));
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Run argv and collect its output. Resolves whatever the exit code; rejects only when it cannot start. */
export function runProcess(argv: readonly string[], options: ProcessOptions): Promise<ProcessResult> {
  if (argv.length === 0) return Promise.reject(new Error('runProcess: empty argv'));
  const t0 = performance.now();
  const stdinFd = inputFile(options.input);
  const stdoutFile = options.stdoutToFile ? outputFile() : undefined;
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: [stdinFd ?? 'pipe', stdoutFile?.write ?? 'pipe', 'pipe'] });
    } catch (e) {
      if (stdoutFile) closeSync(stdoutFile.read);
      throw e;
    } finally {
      if (stdinFd !== undefined) closeSync(stdinFd);
      if (stdoutFile) closeSync(stdoutFile.write);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const limit = options.maxOutputBytes ?? Infinity;
    let size = 0;
    const collect = (into: Buffer[]) => (b: Buffer) => {
      size += b.length;
      if (size <= limit) into.push(b);
    };
    child.stdout?.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    // The output file is read (and closed) once: after an error, 'close' may still come.
    let outputFd = stdoutFile?.read;
    const takeOutput = (): Buffer | undefined => {
      const fd = outputFd;
      outputFd = undefined;
      return fd === undefined ? undefined : readOutput(fd, Math.max(0, limit - size));
    };
    child.on('error', (e) => {
      clearTimeout(timer);
      takeOutput();
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const file = takeOutput();
      if (file) out.push(file);
      const killed = timedOut ? `\n(killed after ${options.timeoutMs} ms)` : signal ? `\n(killed by ${signal})` : '';
      resolve({
        code: code ?? 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + killed,
        ms: performance.now() - t0,
      });
    });
    if (child.stdin) {
      child.stdin.on('error', () => {
        /* the process may exit before reading all input; its exit code tells */
      });
      child.stdin.end('');
    }
  });
}

/** What a finished process said: enough to explain its failure. */
interface ProcessOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A process exited non-zero; the message carries its own words (the first 20 lines). Subclasses name the runner. */
export class ProcessError<R extends ProcessOutput = ProcessOutput> extends Error {
  readonly result: R;
  constructor(what: string, result: R) {
    const said = (result.stderr || result.stdout).trim().split('\n').slice(0, 20).join('\n');
    super(`${what} failed (exit ${result.code})${said ? `: ${said}` : ''}`);
    this.name = new.target.name;
    this.result = result;
  }
}

export interface CheckedOptions extends ProcessOptions {
  /** The process in the message when it cannot start: `cannot run WHAT: …`. */
  readonly what: string;
  /** Resolve with the result instead of throwing when the process exits non-zero. */
  readonly allowFailure?: boolean;
  /** The error thrown for a non-zero exit. */
  readonly failure: (result: ProcessResult) => ProcessError;
}

/** `runProcess` that throws: when the process cannot start, and (unless allowed) when it exits non-zero. */
export async function runChecked(argv: readonly string[], options: CheckedOptions): Promise<ProcessResult> {
  const result = await runProcess(argv, options).catch((e: unknown) => {
    throw new Error(`cannot run ${options.what}: ${(e as Error).message}`);
  });
  if (result.code !== 0 && !options.allowFailure) throw options.failure(result);
  return result;
}
