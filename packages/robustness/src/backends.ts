/**
 * The backend cases every robustness test runs over: iptables (nft and legacy), nft (flat and
 * kube-proxy layout), nftnl (flat and kube-proxy layout). nftnl is loaded lazily: when its
 * package or the native addon cannot be loaded the nftnl cases report why (`unavailable`) and
 * are skipped — except with CI=true, where that is a failure.
 */
import type { Backend } from '@kpb/backend';
import { createIptablesBackend } from '@kpb/backend-iptables';
import { createNftBackend } from '@kpb/backend-nft';

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

type NftnlModule = typeof import('@kpb/backend-nftnl');

let nftnlModule: NftnlModule | undefined;
let nftnlProblem: string | undefined;
try {
  const native = await import('@kpb/native');
  if (!native.nativeAvailable()) nftnlProblem = 'the native addon (native/build/Release/kpb_nftnl.node) cannot be loaded';
  else nftnlModule = await import('@kpb/backend-nftnl');
} catch (e) {
  nftnlProblem = `@kpb/backend-nftnl cannot be loaded: ${(e as Error).message.split('\n')[0]}`;
}

/** Options for nftnl instances (test hooks, a private state dir). */
export type NftnlOptions = Parameters<NftnlModule['createNftnlBackend']>[0];

export function createNftnl(options: NftnlOptions): Backend {
  if (!nftnlModule) throw new Error(nftnlProblem ?? 'nftnl unavailable');
  return nftnlModule.createNftnlBackend(options);
}

function nftnlCase(layout: 'flat' | 'kube-proxy'): BackendCase {
  const c: BackendCase = {
    id: `nftnl/${layout}`,
    kind: 'nftnl',
    make: () => createNftnl({ layout }),
    cliArgs: ['--backend', 'nftnl', '--layout', layout],
  };
  if (nftnlProblem !== undefined && process.env.CI !== 'true') return { ...c, unavailable: nftnlProblem };
  return c;
}

export const BACKEND_CASES: readonly BackendCase[] = [
  { id: 'iptables/nft', kind: 'iptables-nft', make: () => createIptablesBackend({ variant: 'nft' }), cliArgs: ['--backend', 'iptables', '--iptables', 'nft'] },
  { id: 'iptables/legacy', kind: 'iptables-legacy', make: () => createIptablesBackend({ variant: 'legacy' }), cliArgs: ['--backend', 'iptables', '--iptables', 'legacy'] },
  { id: 'nft/flat', kind: 'nft', make: () => createNftBackend({ layout: 'flat' }), cliArgs: ['--backend', 'nft', '--layout', 'flat'] },
  { id: 'nft/kube-proxy', kind: 'nft', make: () => createNftBackend({ layout: 'kube-proxy' }), cliArgs: ['--backend', 'nft', '--layout', 'kube-proxy'] },
  nftnlCase('flat'),
  nftnlCase('kube-proxy'),
];

/** One case per backend and variant (the expensive tests: layouts share their kernel path). */
export const CORE_CASES: readonly BackendCase[] = BACKEND_CASES.filter((c) => c.id !== 'nft/kube-proxy' && c.id !== 'nftnl/kube-proxy');

export function caseById(id: string): BackendCase {
  const c = BACKEND_CASES.find((x) => x.id === id);
  if (!c) throw new Error(`no backend case ${id}`);
  return c;
}
