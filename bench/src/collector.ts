/**
 * Samples, over-cap counts and notes per variant, scale and figure, as a run takes them; the
 * rows of results.json at the end.
 */
import type { Variant, LoadedVariant } from './backends.ts';
import type { BenchCluster } from './cluster.ts';
import { makeRow } from './results.ts';
import type { BackendStatus, ResultRow, Unit } from './results.ts';

/** One variant during a run. */
export interface VariantState {
  readonly v: Variant;
  loaded?: LoadedVariant;
  status: BackendStatus;
  /** A kernel operation failed: no more kernel figures for this variant. */
  kernelError?: string;
  /** Smallest scale at which a sample went over the cap: kernel figures from there on are skipped. */
  overCapAt?: number;
}

interface Entry {
  readonly key: Omit<ResultRow, 'samples' | 'median' | 'p90' | 'min' | 'max'>;
  readonly samples: number[];
  overCap: number;
  fullApplies: number;
  readonly notes: string[];
  readonly load: (readonly [number, number])[];
}

export class Collector {
  readonly #entries = new Map<string, Entry>();

  #entry(st: VariantState, bc: BenchCluster, operation: string, unit: Unit): Entry {
    const k = `${st.v.id}|${bc.services}|${operation}`;
    let e = this.#entries.get(k);
    if (!e) {
      const key = { backend: st.v.backend, layout: st.v.variant, services: bc.services, endpointsPerService: bc.endpointsPerService, operation, unit };
      e = { key, samples: [], overCap: 0, fullApplies: 0, notes: [], load: [] };
      this.#entries.set(k, e);
    }
    return e;
  }

  add(st: VariantState, bc: BenchCluster, op: string, unit: Unit, ...samples: number[]): void {
    this.#entry(st, bc, op, unit).samples.push(...samples);
  }

  over(st: VariantState, bc: BenchCluster, op: string, unit: Unit, n = 1): void {
    this.#entry(st, bc, op, unit).overCap += n;
  }

  /** A sync sample fell back to a full apply. */
  fullApply(st: VariantState, bc: BenchCluster, op: string): void {
    this.#entry(st, bc, op, 'ms').fullApplies += 1;
  }

  note(st: VariantState, bc: BenchCluster, op: string, unit: Unit, note: string): void {
    this.#entry(st, bc, op, unit).notes.push(note);
  }

  /** The load before and after a visit, on every row the visit added samples to. */
  visited(st: VariantState, bc: BenchCluster, before: number, after: number, sizesBefore: ReadonlyMap<string, number>): void {
    const prefix = `${st.v.id}|${bc.services}|`;
    for (const [k, e] of this.#entries) {
      if (k.startsWith(prefix) && e.samples.length > (sizesBefore.get(k) ?? 0)) e.load.push([before, after]);
    }
  }

  /** How many samples each row holds now (to see what a visit added). */
  sampleCounts(): Map<string, number> {
    return new Map([...this.#entries].map(([k, e]) => [k, e.samples.length]));
  }

  rows(): ResultRow[] {
    return [...this.#entries.values()].map((e) => makeRow(e.key, e.samples, { overCap: e.overCap, notes: e.notes, fullApplies: e.fullApplies, load: e.load }));
  }
}
