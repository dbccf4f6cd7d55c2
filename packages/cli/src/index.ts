export { selectableCases } from './backends.ts';
