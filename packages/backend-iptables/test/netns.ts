/** Throwaway network namespaces for kernel tests (never the root namespace). */
import { spawnSync } from 'node:child_process';
import type { Target } from '@kpb/backend';

let counter = 0;

export function createNetns(): Target & { kind: 'netns'; name: string } {
  const name = `kpb-ipt-${process.pid}-${++counter}`;
  const r = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip netns add ${name}: ${r.stderr}`);
  return { kind: 'netns', name };
}

export function deleteNetns(target: { name: string } | undefined): void {
  if (!target) return;
  spawnSync('ip', ['netns', 'del', target.name], { encoding: 'utf8' });
}

/** Namespaces for one describe block: `fresh()` makes one, `deleteAll()` (in afterAll) removes them all. */
export function netnsPool(): { fresh(): ReturnType<typeof createNetns>; deleteAll(): void } {
  const made: ReturnType<typeof createNetns>[] = [];
  return {
    fresh() {
      const ns = createNetns();
      made.push(ns);
      return ns;
    },
    deleteAll() {
      for (const ns of made.splice(0)) deleteNetns(ns);
    },
  };
}

/** Run a command inside the namespace; returns stdout, throws on failure. */
export function inNetns(target: { name: string }, argv: string[], input?: string): string {
  const r = spawnSync('ip', ['netns', 'exec', target.name, ...argv], { encoding: 'utf8', input, maxBuffer: 512 * 1024 * 1024, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} in ${target.name}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Full iptables-save of the namespace without comment lines (timestamps). */
export function fullSave(target: { name: string }, variant: 'nft' | 'legacy'): string {
  return inNetns(target, [`iptables-${variant}-save`])
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

/** Lines of a full save that kpb does not own. */
export function foreignPart(save: string): string {
  return save
    .split('\n')
    .filter((l) => {
      if (l.startsWith(':KUBE-')) return false;
      if (!l.startsWith('-A ')) return true;
      if (l.startsWith('-A KUBE-')) return false;
      return !/ -[jg] KUBE-/.test(l);
    })
    .join('\n');
}

/** Others' rules: a Docker-like and admin-like ruleset in nat, filter and mangle (50+ rules). */
export function foreignRules(): string {
  const filter = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':DOCKER-USER - [0:0]', ':ADMIN-IN - [0:0]'];
  filter.push('-A INPUT -j ADMIN-IN', '-A FORWARD -j DOCKER-USER', '-A DOCKER-USER -j RETURN');
  for (let i = 0; i < 24; i++) filter.push(`-A ADMIN-IN -s 198.51.100.${i}/32 -p tcp -m tcp --dport ${2000 + i} -j ACCEPT`);
  filter.push('-A OUTPUT -d 203.0.113.9/32 -m comment --comment "admin: block" -j DROP', 'COMMIT');
  const nat = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':DOCKER - [0:0]'];
  nat.push('-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER', '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER');
  nat.push('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE', '-A DOCKER -i docker0 -j RETURN');
  for (let i = 0; i < 22; i++) nat.push(`-A DOCKER ! -i docker0 -p tcp -m tcp --dport ${8000 + i} -j DNAT --to-destination 172.17.0.${2 + i}:80`);
  nat.push('COMMIT');
  const mangle = ['*mangle', ':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p udp -m udp --dport 4789 -j MARK --set-xmark 0x1/0xffffffff', 'COMMIT'];
  return [...filter, ...nat, ...mangle].join('\n') + '\n';
}
