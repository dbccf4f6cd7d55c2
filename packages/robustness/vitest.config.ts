import { defineConfig } from 'vitest/config';

// Kernel tests and child kpb processes on a loaded 2-CPU machine: generous timeouts; files run
// one at a time (they compete for the same CPUs and the xtables lock).
export default defineConfig({
  test: { testTimeout: 240_000, hookTimeout: 120_000, fileParallelism: false, reporters: ['default'] },
});
