/**
 * The backend cases every robustness test runs over: the registry's (@kpb/registry), except those
 * the registry says robustness leaves out (and why). A case that cannot run here (nftnl without
 * the native addon) reports why (`unavailable`) and is skipped — except with CI=true, where that
 * is a failure.
 */
import type { Backend } from '@kpb/backend';
import { createNftnlBackend, type NftnlBackendOptions } from '@kpb/backend-nftnl';
import { BACKEND_CASES as REGISTERED, cliArgs, skipReason } from '@kpb/registry';

/** The tool family a rendering is checked against and whose errors a test expects. */
export type BackendKind = 'iptables-nft' | 'iptables-legacy' | 'nft' | 'nftnl';

export interface BackendCase {
  /** `iptables/nft`, `nft/flat`, `nftnl/kube-proxy`… */
  readonly id: string;
  readonly kind: BackendKind;
  /** A fresh backend instance (a new "process" for state-keeping backends). */
  make(): Backend;
  /** The same backend selected through the CLI's flags. */
  readonly cliArgs: readonly string[];
  /** Why the case cannot run here, if it cannot. */
  readonly unavailable?: string;
}

/** nftnl instances with options (test hooks, a private state dir). */
export function createNftnl(options: NftnlBackendOptions): Backend {
  return createNftnlBackend(options);
}

export const BACKEND_CASES: readonly BackendCase[] = REGISTERED.filter((c) => c.notInRobustness === undefined).map((c) => {
  // The iptables variants robustness runs are tool sets (iptables-nft, iptables-legacy).
  const kind = c.backend === 'iptables' ? (`iptables-${c.variant}` as BackendKind) : c.backend;
  const unavailable = skipReason(c);
  return { id: c.id, kind, make: () => c.create(), cliArgs: cliArgs(c), ...(unavailable !== undefined ? { unavailable } : {}) };
});

/** One case per backend and variant (the expensive tests: layouts share their kernel path). */
export const CORE_CASES: readonly BackendCase[] = BACKEND_CASES.filter((c) => c.id !== 'nft/kube-proxy' && c.id !== 'nftnl/kube-proxy');
