export { main, buildProgram } from './main.ts';
