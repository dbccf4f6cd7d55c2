/**
 * The conformance table runs against every registered backend case (@kpb/registry), each with
 * the expectations of the kube-proxy mode its backend stands for.
 */
export { BACKEND_CASES, kubeProxyMode } from '@kpb/registry';
export type { BackendCase } from '@kpb/registry';
