import { defineConfig } from 'vitest/config';

// Every test here runs the real kpb binary (tsx start-up included): allow for a loaded machine.
export default defineConfig({ test: { testTimeout: 120_000, hookTimeout: 120_000 } });
