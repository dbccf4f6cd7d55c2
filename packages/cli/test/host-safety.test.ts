/**
 * No command changes the root namespace's rules unless --host is given. The root namespace is
 * only read here (its rules listed before and after), never written.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { canUseKernel } from '@kpb/testing';
import { smallClusterYaml } from '@kpb/examples';
import { kpb } from './run.ts';

function rootFirewall(): string {
  const read = (argv: string[]) => {
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    return (r.stdout ?? '').split('\n').filter((l) => !l.startsWith('#')).join('\n');
  };
  return [read(['iptables-save']), read(['iptables-legacy-save']), read(['nft', 'list', 'ruleset'])].join('\n---\n');
}

describe.skipIf(!canUseKernel())('host safety', () => {
  it('apply, sync and flush without --netns or --host leave the root namespace untouched, for every backend', () => {
    const before = rootFirewall();
    for (const backend of ['iptables', 'nft', 'nftnl']) {
      for (const args of [
        ['apply', '--input', smallClusterYaml],
        ['sync', '--from', smallClusterYaml, '--to', smallClusterYaml],
        ['flush'],
      ]) {
        const r = kpb([...args, '--backend', backend]);
        expect(r.code, `${args[0]} ${backend}`).toBe(2);
        expect(r.stderr).toContain('refusing to change the host');
      }
    }
    expect(rootFirewall()).toBe(before);
  }, 120_000);
});
