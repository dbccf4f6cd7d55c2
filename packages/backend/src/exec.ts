/**
 * Running packet-filter tools inside a target: `ip netns exec NAME tool …` for a namespace,
 * the tool itself for the host.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from './types.ts';

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A tool exited non-zero; the message carries the tool's own words. */
export class ToolError extends Error {
  readonly result: ToolResult;
  constructor(command: string, result: ToolResult) {
    const said = (result.stderr || result.stdout).trim().split('\n').slice(0, 20).join('\n');
    super(`${command} failed (exit ${result.code})${said ? `: ${said}` : ''}`);
    this.name = 'ToolError';
    this.result = result;
  }
}

export function describeTarget(target: Target): string {
  return target.kind === 'host' ? 'the host' : `network namespace ${target.name}`;
}

/** argv that runs `tool args…` inside the target. */
export function commandFor(target: Target, tool: string, args: readonly string[]): string[] {
  return target.kind === 'host' ? [tool, ...args] : ['ip', 'netns', 'exec', target.name, tool, ...args];
}

export interface RunOptions {
  /** Written to the tool's standard input. */
  readonly input?: string;
  /** Kill the tool after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Resolve with the result instead of throwing when the tool exits non-zero. */
  readonly allowFailure?: boolean;
}

/** Run a tool in the target and collect its output. Throws ToolError on a non-zero exit. */
export function runTool(
  target: Target,
  tool: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ToolResult> {
  const argv = commandFor(target, tool, args);
  const shown = [tool, ...args].join(' ');
  // Input goes through an (already unlinked) file, not a pipe: if kpb dies (SIGKILL) while the
  // tool runs, the tool still reads the WHOLE input and finishes its transaction. Through a pipe
  // it would read a truncated input, which iptables-restore commits table by table (filter
  // without nat) and `nft -f` commits entirely when the cut falls on a line boundary.
  let stdinFd: number | undefined;
  if (options.input !== undefined && options.input.length > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'kpb-input-'));
    try {
      const file = join(dir, 'input');
      writeFileSync(file, options.input, { mode: 0o600 });
      stdinFd = openSync(file, 'r');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: [stdinFd ?? 'pipe', 'pipe', 'pipe'] });
    } finally {
      if (stdinFd !== undefined) closeSync(stdinFd);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${tool} in ${describeTarget(target)}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ToolResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `\n(killed by ${signal})` : ''),
      };
      if (result.code !== 0 && !options.allowFailure) reject(new ToolError(`${shown} in ${describeTarget(target)}`, result));
      else resolve(result);
    });
    if (child.stdin) {
      child.stdin.on('error', () => {
        /* the tool may exit before reading all input; its exit code tells */
      });
      child.stdin.end('');
    }
  });
}
