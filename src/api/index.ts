/** The thin hono HTTP layer. */
export { createApp, normalizePrefix } from './app.ts';
export type { ApiOptions } from './app.ts';
export { STATUS, setErrorLogger } from './errors.ts';
export { readBody } from './body.ts';
export { createWitnessApp, MAX_REQUEST as MAX_WITNESS_REQUEST } from './witness.ts';
export { createMetrics } from './metrics.ts';
export type { Metrics } from './metrics.ts';
