export { BACKEND_CASES, cliArgs, kubeProxyMode, skipReason } from './cases.ts';
export type { BackendCase } from './cases.ts';
