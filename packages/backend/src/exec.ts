/**
 * Running packet-filter tools inside a target: `ip netns exec NAME tool …` for a namespace,
 * the tool itself for the host (through @kpb/process, which says why input goes through a file).
 */
import { runProcess } from '@kpb/process';
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
function commandFor(target: Target, tool: string, args: readonly string[]): string[] {
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
export async function runTool(
  target: Target,
  tool: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ToolResult> {
  const shown = [tool, ...args].join(' ');
  const run = runProcess(commandFor(target, tool, args), {
    timeoutMs: options.timeoutMs ?? 600_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  const { code, stdout, stderr } = await run.catch((e: unknown) => {
    throw new Error(`cannot run ${tool} in ${describeTarget(target)}: ${(e as Error).message}`);
  });
  const result: ToolResult = { code, stdout, stderr };
  if (code !== 0 && !options.allowFailure) throw new ToolError(`${shown} in ${describeTarget(target)}`, result);
  return result;
}
