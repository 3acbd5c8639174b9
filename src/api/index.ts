/** The thin hono HTTP layer. */
export { createApp, normalizePrefix } from './app.ts';
export type { ApiOptions } from './app.ts';
export { STATUS } from './errors.ts';
