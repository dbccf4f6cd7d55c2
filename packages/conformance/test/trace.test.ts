/**
 * The flow table through every backend's in-memory tracer: fast, no kernel.
 */
import { describe, expect, it } from 'vitest';
import { BACKEND_CASES, FLOWS, checkTrace, fixturePlan } from '../src/index.ts';

const plan = fixturePlan();

describe.each(BACKEND_CASES)('tracer: $id', ({ create }) => {
  it.each(FLOWS)('$name', (row) => {
    expect(checkTrace(create(), plan, row)).toBeUndefined();
  });
});
