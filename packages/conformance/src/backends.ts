/**
 * Every backend variant the conformance table runs against. Adding a backend is one line here.
 */
import type { Backend } from '@kpb/backend';

export interface BackendCase {
  /** Name in test titles: backend/variant. */
  readonly id: string;
  readonly load: () => Promise<Backend>;
}

export const BACKEND_CASES: readonly BackendCase[] = [
  { id: 'iptables/nft', load: async () => (await import('@kpb/backend-iptables')).createIptablesBackend({ variant: 'nft' }) },
  { id: 'iptables/legacy', load: async () => (await import('@kpb/backend-iptables')).createIptablesBackend({ variant: 'legacy' }) },
  { id: 'nft/flat', load: async () => (await import('@kpb/backend-nft')).createNftBackend({ layout: 'flat' }) },
  { id: 'nft/kube-proxy', load: async () => (await import('@kpb/backend-nft')).createNftBackend({ layout: 'kube-proxy' }) },
  { id: 'nftnl/flat', load: async () => (await import('@kpb/backend-nftnl')).createNftnlBackend({ layout: 'flat' }) },
  { id: 'nftnl/kube-proxy', load: async () => (await import('@kpb/backend-nftnl')).createNftnlBackend({ layout: 'kube-proxy' }) },
];
