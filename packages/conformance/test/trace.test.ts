/**
 * The flow table through every backend's in-memory tracer: fast, no kernel.
 */
import { describe, expect, it } from 'vitest';
import { BACKEND_CASES, FLOWS, checkTrace, fixturePlan } from '../src/index.ts';

const plan = fixturePlan();

describe.each(BACKEND_CASES)('tracer: $id', ({ id, load }) => {
  it.each(FLOWS)('$name', async (row) => {
    const backend = await load().catch((e: Error) => {
      throw new Error(`${id}: cannot load backend: ${e.message}`);
    });
    expect(checkTrace(backend, plan, row)).toBeUndefined();
  });
});
