/**
 * The one judge that turns what a tracer found into a `TraceVerdict`, so every backend's tracer
 * is held to the same rule in the conformance table.
 */
import type { TraceVerdict } from './types.ts';

/** One way a packet can go through the rules (tracers fork at random endpoint choice). */
export interface TraceBranch {
  /** How the branch ended: let through (possibly rewritten), dropped, or rejected. */
  readonly fate: 'accept' | 'drop' | 'reject';
  /** `ip:port` the branch was DNATed to, if it was. */
  readonly endpoint?: string;
  /** Whether the branch was masqueraded on its way out. */
  readonly masquerade: boolean;
}

/**
 * The verdict for the union of branches. The strongest outcome wins, in this order: DNAT to an
 * endpoint on an accepted branch (every such endpoint is listed; masqueraded if any of those
 * branches is), rejected, dropped, untouched. A DNATed branch that a filter later drops or
 * rejects does not reach its endpoint.
 */
export function traceVerdict(branches: readonly TraceBranch[]): TraceVerdict {
  const reached = branches.filter((b) => b.fate === 'accept' && b.endpoint !== undefined);
  if (reached.length > 0) {
    const endpoints = [...new Set(reached.map((b) => b.endpoint!))].sort();
    return { kind: 'endpoints', endpoints, masquerade: reached.some((b) => b.masquerade) };
  }
  if (branches.some((b) => b.fate === 'reject')) return { kind: 'rejected' };
  if (branches.some((b) => b.fate === 'drop')) return { kind: 'dropped' };
  return { kind: 'untouched' };
}
