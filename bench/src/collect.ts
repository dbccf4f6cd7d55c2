/**
 * `kpb report --collect LOG`: the pods of the deploy Job print their results.json between marker
 * lines; this splits a log (one pod's, or `kubectl logs --prefix` of all) into a results folder
 * per host and draws one merged report, a column per host.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeReport } from './report.ts';
import { validateResults } from './results.ts';
import type { ResultsFile } from './results.ts';

const BEGIN = /^=== kpb-results (\S+) begin ===$/;
const END = /^=== kpb-results (\S+) end ===$/;
/** What `kubectl logs --prefix` puts before each line: `[pod/name/container] `. */
const KUBECTL_PREFIX = /^\[[^\]\s]+\] /;

/**
 * The results.json text of each host in a log. Lines of several pods may interleave (with
 * --prefix), so each open block collects the lines of its own prefix only.
 */
export function splitCollectedLog(log: string): Map<string, string> {
  const open = new Map<string, { host: string; lines: string[] }>();
  const done = new Map<string, string>();
  for (const raw of log.split(/\r?\n/)) {
    const prefix = KUBECTL_PREFIX.exec(raw)?.[0] ?? '';
    const line = raw.slice(prefix.length);
    const begin = BEGIN.exec(line);
    const end = END.exec(line);
    const block = open.get(prefix);
    if (begin) open.set(prefix, { host: begin[1]!, lines: [] });
    else if (end && block?.host === end[1]) {
      if (done.has(block.host)) throw new Error(`kpb report --collect: two result blocks for host ${block.host}`);
      done.set(block.host, block.lines.join('\n'));
      open.delete(prefix);
    } else if (block) block.lines.push(line);
  }
  const unfinished = [...open.values()].map((b) => b.host);
  if (unfinished.length) throw new Error(`kpb report --collect: no end marker for ${unfinished.join(', ')} (a pod still running or killed?)`);
  return done;
}

/**
 * Write `<out>/<host>/results.json` for every block and the merged report in `out`. The report
 * labels columns by the results' hostname, which in a pod is the pod's name: it is replaced by
 * the node's name from the marker, the only change made to the file.
 */
export async function collectReport(log: string, out: string): Promise<{ report: string; hosts: string[] }> {
  const blocks = splitCollectedLog(log);
  if (!blocks.size) throw new Error('kpb report --collect: no `=== kpb-results <host> begin ===` block in the log');
  const dirs: string[] = [];
  for (const [host, text] of blocks) {
    let data: ResultsFile;
    try {
      data = JSON.parse(text) as ResultsFile;
    } catch (e) {
      throw new Error(`kpb report --collect: the block of ${host} is not JSON: ${(e as Error).message}`, { cause: e });
    }
    const problems = validateResults(data);
    if (problems.length) throw new Error(`kpb report --collect: the block of ${host} is not a results file: ${problems.slice(0, 3).join('; ')}`);
    const dir = path.join(out, host.replace(/[^\w.-]/g, '_'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify({ ...data, environment: { ...data.environment, hostname: host } }, null, 2)}\n`);
    dirs.push(dir);
  }
  return { report: await writeReport(dirs, out), hosts: [...blocks.keys()] };
}

/** The log text from a file, or from stdin for `-`. */
export function readLog(file: string): string {
  return readFileSync(file === '-' ? 0 : file, 'utf8');
}
