export { BACKEND_CASES, cliArgs, skipReason } from './cases.ts';
export type { BackendCase } from './cases.ts';
