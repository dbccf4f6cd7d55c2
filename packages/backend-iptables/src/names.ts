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
/** filter: blocks connections to 127.0.0.0/8 from elsewhere while localhost NodePorts are on. */
export const KUBE_FIREWALL = 'KUBE-FIREWALL';

/** Chains that exist whatever the services (kube-proxy's "top-level" chains). */
export const TOP_LEVEL_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL],
  nat: [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ],
};

/** Every chain kpb owns starts with this. */
export const OWNED_PREFIX = 'KUBE-';

// Hashing dominates rendering (one SHA-256 per chain); names are cached across renders.
// Bounded: a cache is dropped when it grows past MAX_CACHE entries.
const MAX_CACHE = 2_000_000;
/** Hash input → hash (service port chains). */
const hashes = new Map<string, string>();
/** Per service port (`portProto`): endpoint address → the whole KUBE-SEP- chain name. */
const endpointChains = new Map<string, Map<string, string>>();
let endpointChainCount = 0;

function cachedHash(input: string): string {
  let value = hashes.get(input);
  if (value === undefined) {
    if (hashes.size >= MAX_CACHE) hashes.clear();
    value = hashName(input, 16);
    hashes.set(input, value);
  }
  return value;
}

/** What kube-proxy hashes for a service port: `key` (`ns/name:port`) and the lower-case protocol. */
export function portProto(key: string, protocol: string): string {
  return key + protocol.toLowerCase();
}

/** kube-proxy's portProtoHash: `key` is `ns/name:port`, protocol as in the API (`TCP`). */
export function servicePortHash(key: string, protocol: string): string {
  return cachedHash(portProto(key, protocol));
}

export function endpointChainName(key: string, protocol: string, address: string): string {
  return endpointChainOf(endpointChainsOf(portProto(key, protocol)), address);
}

/**
 * The endpoint chain names of one service port, by address: looked up once per service port,
 * so that naming an endpoint is one lookup by its address (no key to concatenate and hash).
 */
export interface EndpointChains {
  readonly portProto: string;
  readonly byAddress: Map<string, string>;
}

export function endpointChainsOf(servicePort: string): EndpointChains {
  let byAddress = endpointChains.get(servicePort);
  if (!byAddress) endpointChains.set(servicePort, (byAddress = new Map()));
  return { portProto: servicePort, byAddress };
}

/** endpointChainName of an endpoint of the service port. */
export function endpointChainOf(chains: EndpointChains, address: string): string {
  let name = chains.byAddress.get(address);
  if (name === undefined) {
    if (endpointChainCount >= MAX_CACHE) clearEndpointChains();
    name = 'KUBE-SEP-' + hashName(chains.portProto + address, 16);
    name.charCodeAt(0); // keep one flat string, not the concatenation (see addLine in render.ts)
    chains.byAddress.set(address, name);
    endpointChainCount++;
  }
  return name;
}

function clearEndpointChains(): void {
  endpointChains.clear();
  endpointChainCount = 0;
}

/** Forget cached names (for cold-start measurements). */
export function clearNameCache(): void {
  hashes.clear();
  clearEndpointChains();
}
