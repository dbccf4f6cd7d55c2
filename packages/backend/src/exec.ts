/**
 * Running packet-filter tools inside a target: `ip netns exec NAME tool …` for a namespace,
 * the tool itself for the host (through @kpb/process, which says why input goes through a file).
 */
import { ProcessError, runChecked } from '@kpb/process';
import type { Target } from './types.ts';

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A tool exited non-zero; the message carries the tool's own words. */
export class ToolError extends ProcessError<ToolResult> {}

export function describeTarget(target: Target): string {
  return target.kind === 'host' ? 'the host' : `network namespace ${target.name}`;
}

/** A target as a key (`host`, `netns-NAME`): distinct for distinct targets, and part of lock file names. */
export function targetId(target: Target): string {
  return target.kind === 'host' ? 'host' : `netns-${target.name}`;
}

/** Lines of a tool's input text (a last line without its newline counts): the size of a text apply. */
export function countLines(text: string): number {
  return text ? text.split('\n').length - (text.endsWith('\n') ? 1 : 0) : 0;
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
  /** Its output through a file, not a pipe (`ProcessOptions.stdoutToFile`): for listings kpb reads while it works. */
  readonly stdoutToFile?: boolean;
}

/** Run a tool in the target and collect its output. Throws ToolError on a non-zero exit. */
export async function runTool(
  target: Target,
  tool: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ToolResult> {
  const where = `in ${describeTarget(target)}`;
  const { code, stdout, stderr } = await runChecked(commandFor(target, tool, args), {
    timeoutMs: options.timeoutMs ?? 600_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
    allowFailure: options.allowFailure ?? false,
    stdoutToFile: options.stdoutToFile ?? false,
    what: `${tool} ${where}`,
    failure: (r) => new ToolError(`${[tool, ...args].join(' ')} ${where}`, { code: r.code, stdout: r.stdout, stderr: r.stderr }),
  });
  return { code, stdout, stderr };
}
