/**
 * The backends kpb knows. Adding one is one entry here. nftnl is loaded on demand, so that
 * every other command works on a machine where the native addon is not built.
 */
import type { Backend, BackendOptions } from '@kpb/backend';
import { UsageError } from './errors.ts';

export const BACKEND_NAMES = ['iptables', 'nft', 'nftnl'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export async function loadBackend(name: string, options: BackendOptions): Promise<Backend> {
  switch (name) {
    case 'iptables': {
      const { createIptablesBackend } = await import('@kpb/backend-iptables');
      return createIptablesBackend({ variant: options.iptablesVariant ?? 'nft' });
    }
    case 'nft': {
      const { createNftBackend } = await import('@kpb/backend-nft');
      return createNftBackend({ layout: options.layout ?? 'flat' });
    }
    case 'nftnl': {
      const { createNftnlBackend } = await import('@kpb/backend-nftnl');
      return createNftnlBackend({ layout: options.layout ?? 'flat' });
    }
    default:
      throw new UsageError(`unknown backend "${name}": choose one of ${BACKEND_NAMES.join(', ')}`);
  }
}
