export type * from './types.ts';
export {
  compile,
  nodeSettings,
  familyOf,
  masqueradeMark,
  servicePortKey,
  endpointAddress,
  cidrContains,
  DEFAULT_MASQUERADE_BIT,
} from './compile.ts';
export { categorizeEndpoints, compareEndpoints } from './endpoints.ts';
export type { EndpointCategories } from './endpoints.ts';
export { diffPlans, diffClusters, hasChanges, samePlanValue, settingsChanged } from './changes.ts';
