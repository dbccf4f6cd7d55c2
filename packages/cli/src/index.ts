export { main, buildProgram } from './main.ts';
export { selectableCases } from './backends.ts';
