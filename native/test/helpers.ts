// Kernel-test helpers: a local copy of the house rule (root → run; CI=true and not root →
// throw; else skip) and network namespaces the tests create and delete themselves.
import { execFileSync } from 'node:child_process';

export function canUseKernel(): boolean {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root) return true;
  if (process.env.CI === 'true') throw new Error('CI=true but not root: kernel tests must run in CI');
  return false;
}

let counter = 0;

/** Creates a fresh namespace `kpb-native-<pid>-<n>`. */
export function createNetns(): string {
  const name = `kpb-native-${process.pid}-${counter++}`;
  execFileSync('ip', ['netns', 'add', name]);
  return name;
}

export function deleteNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** `nft list ruleset` inside the namespace. */
export function nftListRuleset(ns: string): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], { encoding: 'utf8', timeout: 30_000 });
}

/** Loads an nft script inside the namespace. */
export function nftApply(ns: string, script: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8', timeout: 30_000 });
}
