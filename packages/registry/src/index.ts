export { BACKEND_CASES, cliArgs, skipReason } from './cases.ts';
export type { BackendCase, BackendName, CaseFlags } from './cases.ts';
