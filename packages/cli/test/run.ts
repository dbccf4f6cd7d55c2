/** Run the real kpb binary, as a user would. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const KPB = fileURLToPath(new URL('../bin/kpb.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function kpb(args: string[], input?: string): Run {
  const r = spawnSync(process.execPath, [KPB, ...args], { encoding: 'utf8', input, timeout: 300_000, maxBuffer: 512 * 1024 * 1024 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
