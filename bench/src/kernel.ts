/**
 * Kernel-side helpers: namespaces the bench creates (`kpb-bench-<pid>-<n>`, through
 * `@kpb/testing`), the time cap, and cleanup on failure and on Ctrl-C. Nothing here touches the
 * root namespace's firewall; only processes this process started are ever killed, by pid.
 */
import { readFileSync } from 'node:fs';
import { createNamespace, deleteNamespace, execHost } from '@kpb/testing';

const liveNamespaces = new Set<string>();
const cleanups = new Set<() => Promise<void>>();
let aborted = false;

export function isAborted(): boolean {
  return aborted;
}

export async function benchNamespace(): Promise<string> {
  const ns = await createNamespace('bench');
  liveNamespaces.add(ns);
  return ns;
}

export async function dropNamespace(ns: string): Promise<void> {
  await killInNamespace(ns);
  await deleteNamespace(ns);
  liveNamespaces.delete(ns);
}

/** Register something to undo if the run is interrupted; returns the unregister function. */
export function onInterrupt(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …; comm may hold spaces and parentheses: take the text after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** Is `pid` a descendant of this process? */
function isOurs(pid: number): boolean {
  let p: number | undefined = pid;
  for (let i = 0; i < 64 && p !== undefined && p > 1; i++) {
    p = parentOf(p);
    if (p === process.pid) return true;
  }
  return false;
}

/** Kill the processes inside `ns` that this process started (a tool past the cap). */
export async function killInNamespace(ns: string): Promise<number[]> {
  const res = await execHost(['ip', 'netns', 'pids', ns], { allowFailure: true, timeoutMs: 10_000 });
  const killed: number[] = [];
  for (const pid of res.stdout.split(/\s+/).filter(Boolean).slice(0, 1000).map(Number)) {
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !isOurs(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      /* already gone */
    }
  }
  return killed;
}

export type Capped<T> = { readonly ok: true; readonly value: T; readonly ms: number } | { readonly ok: false; readonly ms: number };

/**
 * Run `fn` with a time cap. Past the cap, `onCap` runs (kill the tool, abandon the namespace)
 * and the result is `{ ok: false }`; a late rejection of the abandoned work is swallowed.
 * Work that blocks the event loop (a synchronous native call) cannot be interrupted: it is
 * recorded as over the cap when it returns late.
 */
export async function capped<T>(fn: () => Promise<T>, capMs: number, onCap?: () => Promise<void>): Promise<Capped<T>> {
  const t0 = performance.now();
  const work = fn();
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<'cap'>((resolve) => {
    timer = setTimeout(() => resolve('cap'), capMs);
  });
  try {
    const r = await Promise.race([work.then((value) => ({ value })), cap]);
    const ms = performance.now() - t0;
    if (r === 'cap' || ms > capMs) {
      work.catch(() => {});
      if (onCap) await onCap().catch(() => {});
      return { ok: false, ms };
    }
    return { ok: true, value: r.value, ms };
  } finally {
    clearTimeout(timer);
  }
}

/** Undo everything (interrupt or fatal error): registered cleanups, then our namespaces. */
export async function cleanupAll(): Promise<void> {
  for (const fn of [...cleanups]) await fn().catch(() => {});
  cleanups.clear();
  for (const ns of [...liveNamespaces]) {
    await killInNamespace(ns).catch(() => {});
    await deleteNamespace(ns).catch(() => {});
    liveNamespaces.delete(ns);
  }
}

/** On SIGINT / SIGTERM: stop, clean up, exit 130 / 143. Returns the uninstall function. */
export function installSignalHandlers(log: (msg: string) => void): () => void {
  let busy = false;
  const handler = (sig: NodeJS.Signals) => {
    aborted = true;
    if (busy) return;
    busy = true;
    log(`\nkpb bench: ${sig}: cleaning up (namespaces, servers) …`);
    const hard = setTimeout(() => process.exit(sig === 'SIGINT' ? 130 : 143), 30_000);
    hard.unref();
    void cleanupAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
