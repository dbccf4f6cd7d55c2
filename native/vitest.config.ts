import { defineConfig } from 'vitest/config';

// Kernel tests build namespaces and run `nft` next to the addon: allow for a loaded 2-CPU machine
// (the default 5 s per test is ~15× what they take idle, but not what a busy CI host gives).
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000 } });
