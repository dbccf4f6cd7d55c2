/**
 * kube-proxy's chain names and the fixed chains of its iptables mode.
 */
import { hashName } from '@kpb/backend';

export type TableName = 'filter' | 'nat';

/** Tables kpb writes, in the order kube-proxy writes them. */
export const TABLES: readonly TableName[] = ['filter', 'nat'];

/** Built-in chains in the order iptables-save prints them. */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';

/** Chains that exist whatever the services (kube-proxy's "top-level" chains). */
export const TOP_LEVEL_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL],
  nat: [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ],
};

/** Every chain kpb owns starts with this. */
export const OWNED_PREFIX = 'KUBE-';

// Hashing dominates rendering (one SHA-256 per chain); names are cached across renders.
// Bounded: the cache is dropped when it grows past MAX_CACHE entries.
const MAX_CACHE = 2_000_000;
const cache = new Map<string, string>();

function cachedHash(input: string): string {
  let h = cache.get(input);
  if (h === undefined) {
    if (cache.size >= MAX_CACHE) cache.clear();
    h = hashName(input, 16);
    cache.set(input, h);
  }
  return h;
}

/** kube-proxy's portProtoHash: `key` is `ns/name:port`, protocol as in the API (`TCP`). */
export function servicePortHash(key: string, protocol: string): string {
  return cachedHash(key + protocol.toLowerCase());
}

export function endpointChainName(key: string, protocol: string, address: string): string {
  return 'KUBE-SEP-' + cachedHash(key + protocol.toLowerCase() + address);
}

/** Forget cached names (for cold-start measurements). */
export function clearNameCache(): void {
  cache.clear();
}
