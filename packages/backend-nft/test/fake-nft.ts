/**
 * A fake `nft` behind the tool-runner port, for sync tests without root: it lists the tables it
 * was given (in `nft list table` form) and records every script it is handed.
 */
import { ToolError } from '@kpb/backend';
import type { RunTool, ToolResult } from '@kpb/backend';
import { parseCanon } from '../src/index.ts';

/** `nft list table` text of a canonical text (the inverse of canonicalizeListing). */
export function listingOf(canon: string): string {
  const objects = parseCanon(canon);
  const table = objects.find((o) => o.kind === 'table');
  if (!table) return '';
  const lines = [`table ${table.name} {`, ...table.props.map((p) => `\t${p}`)];
  for (const o of objects) {
    if (o.kind === 'table') continue;
    lines.push(`\t${o.kind} ${o.name} {`);
    for (const p of o.props) lines.push(`\t\t${p.replace(/^(type \w+ hook \w+ priority -?\d+) policy (\w+)$/, '$1; policy $2;')}`);
    if (o.kind === 'chain') for (const rule of o.items) lines.push(`\t\t${rule}`);
    else if (o.items.length) lines.push(`\t\telements = { ${o.items.join(',\n\t\t\t     ')} }`);
    lines.push('\t}');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export interface FakeNft {
  readonly runTool: RunTool;
  /** What `nft list table FAMILY kube-proxy` prints, by family; absent: no such table. */
  readonly tables: Map<string, string>;
  /** Every call, in order: `list ip`, `-f` (with the script in `scripts`). */
  readonly calls: string[];
  readonly scripts: string[];
  /** Make the next `nft -f` fail with this message. */
  failNext?: string;
}

export function fakeNft(): FakeNft {
  const ok = (stdout = ''): ToolResult => ({ code: 0, stdout, stderr: '' });
  const fake: FakeNft = {
    tables: new Map(),
    calls: [],
    scripts: [],
    runTool: async (_target, tool, args, options = {}) => {
      if (tool !== 'nft') throw new Error(`fake nft: unexpected tool ${tool}`);
      if (args[0] === 'list' && args[1] === 'table') {
        fake.calls.push(`list ${args[2]}`);
        const text = fake.tables.get(args[2]!);
        return text === undefined ? { code: 1, stdout: '', stderr: 'Error: No such file or directory' } : ok(text);
      }
      if (args[0] === '-f') {
        fake.calls.push('-f');
        fake.scripts.push(options.input ?? '');
        if (fake.failNext) {
          const result = { code: 1, stdout: '', stderr: fake.failNext };
          fake.failNext = undefined;
          throw new ToolError('nft -f -', result);
        }
        return ok();
      }
      throw new Error(`fake nft: unexpected arguments ${args.join(' ')}`);
    },
  };
  return fake;
}
