/**
 * The backends and layouts a run measures. Each is loaded by name; one that fails to load (its
 * package not there yet, the native addon not built, …) is recorded as unavailable with the
 * reason, and the run goes on without it.
 */
import type { Backend } from '@kpb/backend';
import { createNoflushBackend } from './noflush.ts';

export interface Variant {
  readonly backend: 'iptables' | 'nft' | 'nftnl';
  readonly layout: string;
  /** Figures this variant is measured for; undefined: all. */
  readonly only?: readonly string[];
  /** Why it is measured (shown in the report). */
  readonly about: string;
}

export const VARIANTS: readonly Variant[] = [
  { backend: 'iptables', layout: 'nft', about: 'iptables-restore text through iptables-nft (kpb full apply)' },
  { backend: 'iptables', layout: 'legacy', about: 'iptables-restore text through iptables-legacy (kpb full apply)' },
  {
    backend: 'iptables',
    layout: 'noflush',
    about: "kube-proxy's own way: iptables-nft-restore --noflush declaring every KUBE chain, jumps ensured with iptables -C/-I",
    only: ['generate', 'render', 'full-sync', 'resync', 'rss-peak'],
  },
  { backend: 'nft', layout: 'flat', about: 'nft -f script, kpb flat layout (verdict maps)' },
  { backend: 'nft', layout: 'kube-proxy', about: "nft -f script, kube-proxy's nftables layout" },
  { backend: 'nftnl', layout: 'flat', about: 'libnftnl netlink batch through the addon, flat layout' },
  { backend: 'nftnl', layout: 'kube-proxy', about: "libnftnl netlink batch, kube-proxy's nftables layout" },
];

export function variantId(v: { backend: string; layout: string }): string {
  return `${v.backend}/${v.layout}`;
}

/** Select variants: `names` may hold backend names (`nft`) or ids (`nft/flat`). */
export function selectVariants(names: readonly string[]): Variant[] {
  const out: Variant[] = [];
  for (const v of VARIANTS) {
    if (names.includes(v.backend) || names.includes(variantId(v))) out.push(v);
  }
  const unknown = names.filter((n) => !VARIANTS.some((v) => v.backend === n || variantId(v) === n));
  if (unknown.length) {
    throw new Error(`unknown backend or layout: ${unknown.join(', ')} (known: ${VARIANTS.map(variantId).join(', ')})`);
  }
  return out;
}

type Factory = (options: Record<string, unknown>) => Backend;

async function factory(pkg: string, fn: string): Promise<Factory> {
  // A computed specifier keeps the type checker off packages that may not exist yet.
  const mod = (await import(pkg as string)) as Record<string, unknown>;
  const f = mod[fn];
  if (typeof f !== 'function') throw new Error(`${pkg} does not export ${fn}()`);
  return f as Factory;
}

/** Load one variant. Throws with a readable reason when it cannot be loaded. */
export async function loadVariant(v: Variant): Promise<Backend> {
  switch (v.backend) {
    case 'iptables': {
      const create = await factory('@kpb/backend-iptables', 'createIptablesBackend');
      if (v.layout === 'noflush') return createNoflushBackend(create({ variant: 'nft' }));
      return create({ variant: v.layout });
    }
    case 'nft':
      return (await factory('@kpb/backend-nft', 'createNftBackend'))({ layout: v.layout });
    case 'nftnl':
      return (await factory('@kpb/backend-nftnl', 'createNftnlBackend'))({ layout: v.layout });
  }
}

export function describeError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').slice(0, 3).join(' ').slice(0, 400);
}

/**
 * For the nftnl backend, the function that builds its netlink batch in process, if the backend
 * exposes one (it is not part of the Backend interface). Undefined: none found.
 */
export function batchBuilder(backend: Backend): { name: string; fn: (plan: unknown) => unknown } | undefined {
  const b = backend as unknown as Record<string, unknown>;
  for (const name of ['buildBatch', 'renderBatch', 'encodeBatch', 'encodePlan', 'buildStream', 'encode', 'buildMessages', 'renderMessages', 'batch']) {
    const f = b[name];
    if (typeof f === 'function') return { name, fn: (plan) => (f as (p: unknown) => unknown).call(backend, plan) };
  }
  return undefined;
}
