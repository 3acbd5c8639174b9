/** A verifying tlog-tiles client over HTTP that runs anywhere (no Node imports). */
export type { ClientOptions, Verified } from './client.ts';
export { TlogClient } from './client.ts';
