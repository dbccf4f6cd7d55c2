/**
 * The flow table through every backend's in-memory tracer: fast, no kernel. Each case answers
 * with the expectations of its kube-proxy mode, each row under its settings profile's plan.
 */
import { describe, expect, it } from 'vitest';
import { BACKEND_CASES, checkTrace, fixturePlans, flowsBySettings, kubeProxyMode } from '../src/index.ts';

describe.each(BACKEND_CASES)('tracer: $id', ({ backend: name, create }) => {
  describe.each(flowsBySettings(kubeProxyMode(name)))('settings $settings', ({ settings, rows }) => {
    const plan = fixturePlans(settings);
    it.each(rows)('$name', (row) => {
      expect(checkTrace(create(), plan, row)).toBeUndefined();
    });
  });
});
