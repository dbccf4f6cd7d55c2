export type * from './types.ts';
export { runTool, commandFor, describeTarget, ToolError } from './exec.ts';
export type { ToolResult, RunOptions } from './exec.ts';
export { hashName, base32 } from './hash.ts';
export { lockTarget, withTargetLock, lockPath, LockTimeoutError, LOCK_DIR } from './lock.ts';
export type { TargetLock } from './lock.ts';
export { traceVerdict, type TraceBranch } from './verdict.ts';
