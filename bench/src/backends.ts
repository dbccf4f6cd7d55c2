/**
 * The variants a run measures are the registry's backend cases (@kpb/registry). Each is created
 * at the start of a run; one that fails to load is recorded as unavailable with the reason, and
 * the run goes on without it.
 */
import type { Backend } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { BatchBuilder } from '@kpb/native';
import { BACKEND_CASES, type BackendCase } from '@kpb/registry';

/** A measured variant: one registered backend case. */
export type Variant = BackendCase;

export const VARIANTS: readonly Variant[] = BACKEND_CASES;

/**
 * `backend/variant` of a results row or status. results.json calls the variant `layout` (schema
 * kpb-bench/1, kept so that committed reports stay readable).
 */
export function variantId(v: { readonly backend: string; readonly layout: string }): string {
  return `${v.backend}/${v.layout}`;
}

/** Select variants: `names` may hold backend names (`nft`) or ids (`nft/flat`). */
export function selectVariants(names: readonly string[]): Variant[] {
  const unknown = names.filter((n) => !VARIANTS.some((v) => v.backend === n || v.id === n));
  if (unknown.length) {
    throw new Error(`unknown backend or layout: ${unknown.join(', ')} (known: ${VARIANTS.map((v) => v.id).join(', ')})`);
  }
  return VARIANTS.filter((v) => names.includes(v.backend) || names.includes(v.id));
}

/** A variant's backend, and what the generate and render figures time in process. */
export interface LoadedVariant {
  readonly backend: Backend;
  /** The backend's output for a run's plans (one per family): the netlink batch for nftnl, the text for the others. */
  readonly render: (plans: readonly Plan[]) => unknown;
  /** What `render` builds, when it is not the text. */
  readonly renderNote?: string;
}

export function loadVariant(v: Variant): LoadedVariant {
  if (v.backend === 'nftnl') {
    const backend = v.create();
    // As its apply does: one op stream per family, joined into one batch when there are several.
    const render = (plans: readonly Plan[]) => (plans.length === 1 ? backend.encodePlan(plans[0]!) : BatchBuilder.join(plans.map((p) => backend.encodePlan(p))));
    return { backend, render, renderNote: 'batch built with encodePlan() (dual: one per family, joined)' };
  }
  const backend = v.create();
  return { backend, render: (plans) => backend.renderText(plans) };
}

/**
 * A new instance of the variant's backend that knows nothing of earlier commits: its state files
 * in `stateDir` (an empty folder), since a state file the measured instance wrote would let it
 * trust the kernel without reading it back.
 */
export function freshBackend(v: Variant, stateDir: string): Backend {
  return v.create({ stateDir });
}

export function describeError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').slice(0, 3).join(' ').slice(0, 400);
}
