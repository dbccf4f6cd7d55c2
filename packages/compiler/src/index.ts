export type * from './types.ts';
export { clusterFamilies, compile, compileFamilies, nodeSettings, masqueradeMark } from './compile.ts';
export { diffPlans, diffClusters, hasChanges, samePlanValue, settingsChanged } from './changes.ts';
