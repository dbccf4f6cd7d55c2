export type * from './types.ts';
export { runTool, commandFor, describeTarget, ToolError } from './exec.ts';
export type { ToolResult, RunOptions } from './exec.ts';
export { hashName, base32 } from './hash.ts';
