/** tilelog hammer: load generation and verification for any tlog-tiles log. */
export type { HammerOptions, HammerResult } from './hammer.ts';
export { runHammer } from './hammer.ts';
