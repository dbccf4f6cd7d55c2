export type * from './types.ts';
export { compile, nodeSettings, masqueradeMark } from './compile.ts';
export { diffPlans, diffClusters, hasChanges, samePlanValue, settingsChanged } from './changes.ts';
