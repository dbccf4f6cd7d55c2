/**
 * What a full sync left in the kernel, counted from the kernel's own listing so that a reader
 * sees why one layout loads faster than another: chains, rules, named sets and maps, and their
 * elements. nf_tables variants (nft, nftnl, iptables-nft) are counted from `nft -j list ruleset`
 * in the namespace (iptables-nft's tables are nf_tables objects too); iptables-legacy from
 * `iptables-legacy-save` / `ip6tables-legacy-save` (chains and rules; it has no sets).
 */
import { runTool, type Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import type { Variant } from './backends.ts';

export interface KernelObjects {
  readonly chains: number;
  readonly rules: number;
  readonly sets: number;
  readonly elements: number;
}

/** The counts of one `nft -j list ruleset` output. */
export function countNftJson(json: string): KernelObjects {
  const items = (JSON.parse(json) as { nftables?: Record<string, unknown>[] }).nftables ?? [];
  let chains = 0;
  let rules = 0;
  let sets = 0;
  let elements = 0;
  for (const item of items) {
    if ('chain' in item) chains++;
    else if ('rule' in item) rules++;
    else if ('set' in item || 'map' in item) {
      sets++;
      const elem = ((item['set'] ?? item['map']) as { elem?: unknown[] }).elem;
      elements += elem?.length ?? 0;
    }
  }
  return { chains, rules, sets, elements };
}

/** The counts of `iptables-save` output: `:CHAIN` lines and `-A` rules. */
export function countIptablesSave(text: string): KernelObjects {
  let chains = 0;
  let rules = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) chains++;
    else if (line.startsWith('-A ')) rules++;
  }
  return { chains, rules, sets: 0, elements: 0 };
}

/** Counts what the variant's full sync of `plans` left in `target`. */
export async function kernelObjects(v: Variant, target: Target, plans: readonly Plan[], timeoutMs: number): Promise<KernelObjects> {
  if (v.backend === 'iptables' && v.variant === 'legacy') {
    const counts = [];
    for (const plan of plans) {
      const tool = `${plan.family === 'IPv6' ? 'ip6tables' : 'iptables'}-legacy-save`;
      counts.push(countIptablesSave((await runTool(target, tool, [], { timeoutMs })).stdout));
    }
    return counts.reduce((a, b) => ({ chains: a.chains + b.chains, rules: a.rules + b.rules, sets: 0, elements: 0 }));
  }
  return countNftJson((await runTool(target, 'nft', ['-j', 'list', 'ruleset'], { timeoutMs })).stdout);
}
