/**
 * The CLI's backends are the registry's cases (@kpb/registry): --backend picks the backend,
 * --layout (nft, nftnl) or --iptables (iptables) its variant.
 */
import type { Backend } from '@kpb/backend';
import { BACKEND_CASES, type BackendCase } from '@kpb/registry';
import { UsageError } from './errors.ts';

const distinct = (values: readonly (string | undefined)[]): string[] => [...new Set(values.filter((v): v is string => v !== undefined))];

export const BACKEND_NAMES = distinct(BACKEND_CASES.map((c) => c.backend));
/** Values of --layout and --iptables, in registry order. */
export const LAYOUTS = distinct(BACKEND_CASES.map((c) => c.flags.layout));
export const IPTABLES_VARIANTS = distinct(BACKEND_CASES.map((c) => c.flags.iptables));

/** The flags that select a case. */
interface CaseSelection {
  readonly backend: string;
  readonly layout: string;
  readonly iptables: string;
}

function findCase(opts: CaseSelection): BackendCase | undefined {
  return BACKEND_CASES.find(
    (c) => c.flags.backend === opts.backend && (c.flags.layout ?? opts.layout) === opts.layout && (c.flags.iptables ?? opts.iptables) === opts.iptables,
  );
}

/** The registry case the flags select; flags a case does not name are ignored for it. */
export function selectCase(opts: CaseSelection): BackendCase {
  const found = findCase(opts);
  if (!found) {
    throw new UsageError(`no backend "${opts.backend}" with --layout ${opts.layout} --iptables ${opts.iptables}: choose one of ${BACKEND_CASES.map((c) => c.id).join(', ')}`);
  }
  return found;
}

/** Every case that some combination of the --backend, --layout and --iptables choices selects. */
export function selectableCases(): BackendCase[] {
  const found = new Set<BackendCase>();
  for (const backend of BACKEND_NAMES) {
    for (const layout of LAYOUTS) {
      for (const iptables of IPTABLES_VARIANTS) {
        const c = findCase({ backend, layout, iptables });
        if (c) found.add(c);
      }
    }
  }
  return [...found];
}

export function loadBackend(opts: CaseSelection): Backend {
  return selectCase(opts).create();
}
