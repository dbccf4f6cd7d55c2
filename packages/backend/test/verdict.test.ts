import { describe, expect, it } from 'vitest';
import { traceVerdict, type TraceBranch } from '../src/verdict.ts';

const to = (endpoint: string, masquerade = false): TraceBranch => ({ fate: 'accept', endpoint, masquerade });
const pass: TraceBranch = { fate: 'accept', masquerade: false };
const drop: TraceBranch = { fate: 'drop', masquerade: false };
const reject: TraceBranch = { fate: 'reject', masquerade: false };

describe('traceVerdict', () => {
  it('lists every endpoint an accepted branch reached, sorted and once each', () => {
    expect(traceVerdict([to('10.0.0.2:80'), to('10.0.0.1:80'), to('10.0.0.2:80')])).toEqual({
      kind: 'endpoints',
      endpoints: ['10.0.0.1:80', '10.0.0.2:80'],
      masquerade: false,
    });
  });

  it('says masquerade when any branch that reached an endpoint was masqueraded', () => {
    expect(traceVerdict([to('10.0.0.1:80'), to('10.0.0.2:80', true)])).toMatchObject({ kind: 'endpoints', masquerade: true });
  });

  it('does not count an endpoint whose branch was then dropped or rejected', () => {
    const dnatThenDrop: TraceBranch = { fate: 'drop', endpoint: '10.0.0.9:80', masquerade: true };
    expect(traceVerdict([dnatThenDrop, to('10.0.0.1:80')])).toEqual({ kind: 'endpoints', endpoints: ['10.0.0.1:80'], masquerade: false });
    expect(traceVerdict([dnatThenDrop])).toEqual({ kind: 'dropped' });
    expect(traceVerdict([{ ...dnatThenDrop, fate: 'reject' }])).toEqual({ kind: 'rejected' });
  });

  it('judges rejected, dropped and untouched', () => {
    expect(traceVerdict([reject])).toEqual({ kind: 'rejected' });
    expect(traceVerdict([drop])).toEqual({ kind: 'dropped' });
    expect(traceVerdict([pass])).toEqual({ kind: 'untouched' });
    expect(traceVerdict([])).toEqual({ kind: 'untouched' });
  });

  it('lets the strongest outcome of mixed branches win: endpoints, rejected, dropped, untouched', () => {
    expect(traceVerdict([drop, reject, pass, to('10.0.0.1:80')])).toMatchObject({ kind: 'endpoints' });
    expect(traceVerdict([drop, pass, reject])).toEqual({ kind: 'rejected' });
    expect(traceVerdict([pass, drop])).toEqual({ kind: 'dropped' });
  });
});
