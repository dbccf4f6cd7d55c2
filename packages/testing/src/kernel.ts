/**
 * When kernel tests run. As root they run; without root they are skipped with a reason, except
 * under CI (CI=true), where a kernel test that cannot run is a failure, never a silent skip.
 */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function canUseKernel(): boolean {
  if (isRoot()) return true;
  if (process.env.CI === 'true') {
    throw new Error('CI=true but not running as root: kernel tests must run in CI, run them as root');
  }
  return false;
}
