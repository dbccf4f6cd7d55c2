export type * from './types.ts';
export { runTool, commandFor, describeTarget, ToolError } from './exec.ts';
export type { ToolResult, RunOptions } from './exec.ts';
