/**
 * One list: every case registered in @kpb/registry is run by the conformance table, measured by
 * the bench, covered by the robustness tests (unless the registry says why not) and selectable
 * with the CLI's flags. Adding a case anywhere but the registry, or leaving a consumer behind,
 * fails here.
 */
import { describe, expect, it } from 'vitest';
import { VARIANTS } from '@kpb/bench';
import { selectableCases } from '@kpb/cli';
import { BACKEND_CASES as REGISTERED } from '@kpb/registry';
import { BACKEND_CASES as ROBUSTNESS_CASES } from '@kpb/robustness';
import { BACKEND_CASES as CONFORMANCE_CASES } from '../src/index.ts';

const ids = (cases: readonly { readonly id: string }[]) => cases.map((c) => c.id).sort();
const registered = ids(REGISTERED);

describe('the backend registry drives every consumer', () => {
  it('the conformance table runs every registered case', () => {
    expect(ids(CONFORMANCE_CASES)).toEqual(registered);
  });

  it('the bench measures every registered case', () => {
    expect(ids(VARIANTS)).toEqual(registered);
  });

  it('the robustness tests cover every registered case the registry does not exclude, with a reason', () => {
    const excluded = REGISTERED.filter((c) => c.notInRobustness !== undefined);
    for (const c of excluded) expect(c.notInRobustness!.length, c.id).toBeGreaterThan(20);
    expect(ids(ROBUSTNESS_CASES)).toEqual(ids(REGISTERED.filter((c) => !excluded.includes(c))));
  });

  it("the CLI's flags select every registered case", () => {
    expect(ids(selectableCases())).toEqual(registered);
  });
});
