/**
 * The conformance table runs against every registered backend case (@kpb/registry).
 */
export { BACKEND_CASES } from '@kpb/registry';
export type { BackendCase } from '@kpb/registry';
