/**
 * Every backend case kpb knows: one backend (iptables, nft, nftnl) in one variant (the iptables
 * tool set or apply path, the nftables layout). The CLI, the bench, the conformance table and the
 * robustness tests all read this list; adding a backend or a variant is one entry here, and the
 * registry test in @kpb/conformance fails until every one of them runs it.
 */
import type { Backend } from '@kpb/backend';
import { createIptablesBackend, createNoflushBackend } from '@kpb/backend-iptables';
import { createNftBackend, type NftBackend } from '@kpb/backend-nft';
import { createNftnlBackend, type NftnlBackend } from '@kpb/backend-nftnl';
import { nativeAvailable } from '@kpb/native';

type BackendName = 'iptables' | 'nft' | 'nftnl';

/**
 * The kube-proxy mode a backend stands for: it decides kube-proxy's defaults that differ by
 * mode (--nodeport-addresses: every local address in iptables mode, the primary IP in nftables
 * mode), which the CLI puts into the node settings.
 */
export function kubeProxyMode(backend: string): 'iptables' | 'nftables' {
  return backend === 'iptables' ? 'iptables' : 'nftables';
}

/**
 * The CLI flags that select a case, by commander's option name: `--backend`, and `--layout`
 * (nft, nftnl) or `--iptables` (iptables). A flag a case does not name is ignored for it.
 */
interface CaseFlags {
  readonly backend: BackendName;
  readonly layout?: string;
  readonly iptables?: string;
}

interface CaseCommon {
  /** `backend/variant`: `iptables/nft`, `nft/flat`, … (test titles, bench series, reports). */
  readonly id: string;
  readonly variant: string;
  /** One line: what this case does differently. */
  readonly description: string;
  readonly flags: CaseFlags;
  /** Base ids of the bench figures it is measured for (`full-sync`, `rss-peak`, …); undefined: all. */
  readonly figures?: readonly string[];
  /** Why the robustness tests leave it out, if they do (the registry test holds them to this). */
  readonly notInRobustness?: string;
  /** Why it cannot run on this machine, if it cannot. */
  unavailable(): string | undefined;
}

/** What every case's factory takes. */
interface CaseOptions {
  /** Where the backend keeps its commit records (default `/run/kpb/state`; iptables-legacy keeps none). */
  readonly stateDir?: string;
}

/** A case with a factory typed by its backend (nftnl's exposes its netlink batch, `encodePlan`). */
export type BackendCase = CaseCommon &
  (
    | { readonly backend: 'iptables'; create(options?: CaseOptions): Backend }
    | { readonly backend: 'nft'; create(options?: CaseOptions): NftBackend }
    | { readonly backend: 'nftnl'; create(options?: CaseOptions): NftnlBackend }
  );

const always = (): undefined => undefined;

const nativeMissing = (): string | undefined =>
  nativeAvailable() ? undefined : 'the native addon (native/build/Release/kpb_nftnl.node) cannot be loaded';

export const BACKEND_CASES: readonly BackendCase[] = [
  {
    id: 'iptables/nft',
    backend: 'iptables',
    variant: 'nft',
    description: 'iptables-restore text through iptables-nft (kpb full apply)',
    flags: { backend: 'iptables', iptables: 'nft' },
    unavailable: always,
    create: (o = {}) => createIptablesBackend({ variant: 'nft', ...o }),
  },
  {
    id: 'iptables/legacy',
    backend: 'iptables',
    variant: 'legacy',
    description: 'iptables-restore text through iptables-legacy (kpb full apply)',
    flags: { backend: 'iptables', iptables: 'legacy' },
    unavailable: always,
    create: () => createIptablesBackend({ variant: 'legacy' }),
  },
  {
    id: 'iptables/noflush',
    backend: 'iptables',
    variant: 'noflush',
    description: "kube-proxy's own way: iptables-nft-restore --noflush declaring every KUBE chain, jumps ensured with iptables -C/-I",
    flags: { backend: 'iptables', iptables: 'noflush' },
    figures: ['generate', 'render', 'full-sync', 'resync', 'rss-peak'],
    notInRobustness:
      'not atomic, as in kube-proxy (one restore, then one iptables -I per jump): the all-or-nothing fault checks do not hold for it; its sync is iptables/nft’s',
    unavailable: always,
    create: (o = {}) => createNoflushBackend({ variant: 'nft', ...o }),
  },
  {
    id: 'nft/flat',
    backend: 'nft',
    variant: 'flat',
    description: 'nft -f script, kpb flat layout (verdict maps)',
    flags: { backend: 'nft', layout: 'flat' },
    unavailable: always,
    create: (o = {}) => createNftBackend({ layout: 'flat', ...o }),
  },
  {
    id: 'nft/kube-proxy',
    backend: 'nft',
    variant: 'kube-proxy',
    description: "nft -f script, kube-proxy's nftables layout",
    flags: { backend: 'nft', layout: 'kube-proxy' },
    unavailable: always,
    create: (o = {}) => createNftBackend({ layout: 'kube-proxy', ...o }),
  },
  {
    id: 'nft/maps',
    backend: 'nft',
    variant: 'maps',
    description: 'nft -f script, kpb maps layout (common services as set and data-map elements, no chain of their own)',
    flags: { backend: 'nft', layout: 'maps' },
    unavailable: always,
    create: (o = {}) => createNftBackend({ layout: 'maps', ...o }),
  },
  {
    id: 'nftnl/flat',
    backend: 'nftnl',
    variant: 'flat',
    description: 'libnftnl netlink batch through the addon, flat layout',
    flags: { backend: 'nftnl', layout: 'flat' },
    unavailable: nativeMissing,
    create: (o = {}) => createNftnlBackend({ layout: 'flat', ...o }),
  },
  {
    id: 'nftnl/kube-proxy',
    backend: 'nftnl',
    variant: 'kube-proxy',
    description: "libnftnl netlink batch, kube-proxy's nftables layout",
    flags: { backend: 'nftnl', layout: 'kube-proxy' },
    unavailable: nativeMissing,
    create: (o = {}) => createNftnlBackend({ layout: 'kube-proxy', ...o }),
  },
  {
    id: 'nftnl/maps',
    backend: 'nftnl',
    variant: 'maps',
    description: 'libnftnl netlink batch, kpb maps layout (common services as set and data-map elements, no chain of their own)',
    flags: { backend: 'nftnl', layout: 'maps' },
    unavailable: nativeMissing,
    create: (o = {}) => createNftnlBackend({ layout: 'maps', ...o }),
  },
];

/** The case's flags as command-line arguments: `--backend nft --layout flat`. */
export function cliArgs(c: BackendCase): string[] {
  const { backend, layout, iptables } = c.flags;
  return ['--backend', backend, ...(layout !== undefined ? ['--layout', layout] : []), ...(iptables !== undefined ? ['--iptables', iptables] : [])];
}

/**
 * Why a test should skip the case here, if it should: the case is unavailable and this is not CI.
 * With CI=true an unavailable case is not skipped, so its tests fail and say why.
 */
export function skipReason(c: BackendCase): string | undefined {
  return process.env.CI === 'true' ? undefined : c.unavailable();
}
