/**
 * A backend's ports: what it reaches the outside world through. `create*Backend` takes them
 * (the real ones by default), so unit tests can hand in fakes and exercise sync decisions,
 * rollback and state files without root.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { RunOptions, ToolResult } from './exec.ts';
import type { Target } from './types.ts';

/** Runs a tool in a target (`runTool` by default). */
export type RunTool = (target: Target, tool: string, args: readonly string[], options?: RunOptions) => Promise<ToolResult>;

/** Milliseconds from some fixed point (`performance.now` by default). */
export type Clock = () => number;

/** Small texts kept across processes, by key (files in a directory by default). */
export interface StateStore {
  /** The text stored under `key`, or undefined when there is none or it cannot be read. */
  read(key: string): string | undefined;
  /** Store `text` under `key`, replacing it atomically. Throws when it cannot. */
  write(key: string, text: string): void;
}

/** The ports every backend takes; a backend that needs more extends this. */
export interface BackendPorts {
  readonly runTool?: RunTool;
  readonly clock?: Clock;
}

export const systemClock: Clock = () => performance.now();

/** Where the backends keep their commit records unless told otherwise. */
const STATE_DIR = '/run/kpb/state';

/** A StateStore of files `<dir>/<key>` (default `/run/kpb/state`), each replaced by a rename. */
export function fileStateStore(dir: string = STATE_DIR): StateStore {
  return {
    read(key) {
      try {
        return readFileSync(`${dir}/${key}`, 'utf8');
      } catch {
        return undefined;
      }
    },
    write(key, text) {
      mkdirSync(dir, { recursive: true });
      const path = `${dir}/${key}`;
      writeFileSync(`${path}.tmp`, text);
      renameSync(`${path}.tmp`, path);
    },
  };
}
