export { writeReport } from './report.ts';
export { VARIANTS } from './backends.ts';
