/** Reading a cluster description for a command, with warnings on stderr. */
import { readFileSync } from 'node:fs';
import { parseCluster, type Cluster } from '@kpb/model';
import { UsageError } from './errors.ts';

export function loadCluster(path: string | undefined, flag = '--input'): Cluster {
  if (path === undefined) throw new UsageError(`${flag} FILE is required (kubectl get services,endpointslices,nodes -A -o json, or kpb generate)`);
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { cluster, warnings } = parseCluster(text, path === '-' ? '<stdin>' : path);
  for (const w of warnings) process.stderr.write(`kpb: warning: ${w.source}: ${w.message}\n`);
  return cluster;
}
