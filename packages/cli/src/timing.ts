import type { ApplyResult } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
/** Stage timings, as `kpb apply` and `kpb sync` print them. */
export interface Stage {
  readonly name: string;
  readonly ms: number;
  readonly note?: string;
}

export class StageClock {
  readonly #stages: Stage[] = [];
  readonly #start = performance.now();

  /** Time a stage (sync or async) and record it. */
  async time<T>(name: string, fn: () => T | Promise<T>, note?: (result: T) => string): Promise<T> {
    const t0 = performance.now();
    const result = await fn();
    this.add(name, performance.now() - t0, note?.(result));
    return result;
  }

  add(name: string, ms: number, note?: string): void {
    this.#stages.push({ name, ms, ...(note ? { note } : {}) });
  }

  get stages(): readonly Stage[] {
    return this.#stages;
  }

  total(): number {
    return performance.now() - this.#start;
  }
}

export function formatStages(stages: readonly Stage[], total: number): string {
  const width = Math.max(...stages.map((s) => s.name.length), 5);
  const row = (name: string, ms: number, note?: string) =>
    `  ${name.padEnd(width)}  ${ms.toFixed(1).padStart(9)} ms${note ? `  ${note}` : ''}`;
  return [...stages.map((s) => row(s.name, s.ms, s.note)), row('total', total)].join('\n');
}

/** Each family's share of a multi-family result, for the render stage's note: `IPv4 120 ms 9001 lines, …`. */
export function familiesNote(result: ApplyResult): string {
  if (!result.families) return '';
  return ` (${result.families.map((f) => `${f.family} ${f.render.toFixed(1)} ms ${f.count} ${result.size.unit}${f.mode ? `, ${f.mode}` : ''}`).join('; ')})`;
}

/** The families of the plans a command worked on, for its header line. */
export function familiesOf(plans: readonly Plan[]): string {
  return plans.map((p) => p.family).join(' + ');
}
