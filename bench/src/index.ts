export { writeReport } from './report.ts';
export { VARIANTS } from './backends.ts';
export { collectReport, readLog } from './collect.ts';
export { manifestsYaml } from './deploy.ts';
