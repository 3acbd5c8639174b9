/** tilelog hammer: load generation and verification for any tlog-tiles log. */
export { runHammer } from './hammer.ts';
