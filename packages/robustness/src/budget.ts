/**
 * Run counts and seeds. CI (`CI=true`) and the default use fixed seeds and small counts so the
 * package stays within its time budget; `KPB_FUZZ_RUNS=5000` (and `KPB_FUZZ_SEED=n`) run longer.
 */
export function fuzzRuns(ciDefault: number): number {
  const env = Number(process.env.KPB_FUZZ_RUNS);
  return Number.isInteger(env) && env > 0 ? Math.min(env, 1_000_000) : ciDefault;
}

/** Fixed in CI and by default; overridable with KPB_FUZZ_SEED. */
export function fuzzSeed(fixed: number): number {
  const env = Number(process.env.KPB_FUZZ_SEED);
  return process.env.CI !== 'true' && Number.isInteger(env) ? env : fixed;
}

/** Scales a count with KPB_FUZZ_RUNS relative to the default runs (long runs do more of everything). */
export function scaled(ciDefault: number, base: number): number {
  const env = Number(process.env.KPB_FUZZ_RUNS);
  if (!Number.isInteger(env) || env <= base) return ciDefault;
  return Math.min(Math.round((ciDefault * env) / base), ciDefault * 100);
}
