/**
 * Network-namespace harness. Every namespace is named `kpb-<role>-<pid>-<counter>` so that
 * leftovers of a dead test process can be found and reaped (`reapStale`). Nothing here touches
 * the root namespace's firewall, routes or addresses.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ProcessError, runChecked } from '@kpb/process';

export interface ExecOptions {
  /** Written to standard input. */
  readonly input?: string;
  /** Kill the command after this many milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Resolve instead of throwing when the command exits non-zero. */
  readonly allowFailure?: boolean;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time of the command, milliseconds. */
  readonly ms: number;
}

/** A command exited non-zero; the message carries its own words. */
class ExecError extends ProcessError<ExecResult> {}

const NAME_RE = /^kpb-([a-z0-9]+)-(\d+)-(\d+)$/;
const MAX_OUTPUT = 16 * 1024 * 1024;

/** Run argv on the host (used for `ip netns …` management only). */
export async function execHost(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0) throw new Error('execHost: empty argv');
  const shown = argv.join(' ');
  return runChecked(argv, {
    timeoutMs: options.timeoutMs ?? 30_000,
    maxOutputBytes: MAX_OUTPUT,
    ...(options.input !== undefined ? { input: options.input } : {}),
    allowFailure: options.allowFailure ?? false,
    what: shown,
    failure: (r) => new ExecError(shown, r),
  });
}

/** Run argv inside namespace `ns` (`ip netns exec ns argv…`). Throws ExecError on non-zero exit. */
export async function execIn(ns: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  assertKpbName(ns);
  return execHost(['ip', 'netns', 'exec', ns, ...argv], options).catch((e: unknown) => {
    if (e instanceof ExecError) throw new ExecError(`${argv.join(' ')} in netns ${ns}`, e.result);
    throw e;
  });
}

function assertKpbName(ns: string): void {
  if (!NAME_RE.test(ns)) throw new Error(`refusing to act on namespace ${JSON.stringify(ns)}: not a kpb-… name`);
}

let counter = 0;
/** Namespaces this process created and has not deleted yet (deleted at exit as a last resort). */
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const ns of [...live].slice(0, 1000)) {
      spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore', timeout: 5000 });
    }
  });
}

/** Role → `[a-z0-9]{1,16}`. */
function cleanRole(role: string): string {
  const r = role.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16);
  return r || 'ns';
}

/** Create `kpb-<role>-<pid>-<n>` with `lo` up. Returns its name. */
export async function createNamespace(role: string): Promise<string> {
  installExitHook();
  const r = cleanRole(role);
  for (let tries = 0; tries < 50; tries++) {
    const name = `kpb-${r}-${process.pid}-${++counter}`;
    const res = await execHost(['ip', 'netns', 'add', name], { allowFailure: true, timeoutMs: 10_000 });
    if (res.code !== 0) {
      // Another worker thread of the same process may have taken the name: try the next one.
      if (/exists/i.test(res.stderr)) continue;
      throw new ExecError(`ip netns add ${name}`, res);
    }
    live.add(name);
    try {
      await execHost(['ip', '-n', name, 'link', 'set', 'lo', 'up'], { timeoutMs: 10_000 });
    } catch (e) {
      await deleteNamespace(name);
      throw e;
    }
    return name;
  }
  throw new Error(`cannot find a free namespace name for role ${r}`);
}

/** Delete a kpb namespace. Idempotent: a namespace that is already gone is fine. */
export async function deleteNamespace(name: string): Promise<void> {
  assertKpbName(name);
  const res = await execHost(['ip', 'netns', 'delete', name], { allowFailure: true, timeoutMs: 10_000 });
  live.delete(name);
  if (res.code !== 0 && (await listNamespaces()).includes(name)) {
    throw new ExecError(`ip netns delete ${name}`, res);
  }
}

/** Create a namespace, run fn in it, always delete it. */
export async function withNamespace<T>(role: string, fn: (ns: string) => Promise<T> | T): Promise<T> {
  const ns = await createNamespace(role);
  try {
    return await fn(ns);
  } finally {
    await deleteNamespace(ns);
  }
}

/** Names of all `kpb-*` namespaces on the machine. */
export async function listNamespaces(): Promise<string[]> {
  const res = await execHost(['ip', 'netns', 'list'], { timeoutMs: 10_000 });
  return res.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => NAME_RE.test(n));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The directory of our agents: only processes running one of them are ours to end. */
const AGENTS_DIR = new URL('./agents/', import.meta.url).pathname;

/**
 * Delete leftover `kpb-*` namespaces whose creating process is gone. Processes still running
 * one of our agents (echo-server, probe) inside such a namespace are killed first; nothing else.
 * Returns the deleted names.
 */
export async function reapStale(): Promise<string[]> {
  const reaped: string[] = [];
  for (const ns of (await listNamespaces()).slice(0, 1000)) {
    const m = NAME_RE.exec(ns);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const pids = await execHost(['ip', 'netns', 'pids', ns], { allowFailure: true, timeoutMs: 10_000 });
    for (const p of pids.stdout.split(/\s+/).filter(Boolean).slice(0, 1000).map(Number)) {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (cmdline.includes(AGENTS_DIR)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await deleteNamespace(ns);
    reaped.push(ns);
  }
  return reaped;
}
