/** The thin hono HTTP layer. */
export { createApp, normalizePrefix } from './app.ts';
export { startBastion } from './bastion-server.ts';
export { admitOptions, createEntry } from './create.ts';
export { GRPC_CODE, logServerError, setErrorLogger } from './errors.ts';
export type { ExplorerConfig } from './explorer.ts';
export { readExplorerFiles } from './explorer.ts';
export { postForward } from './forward.ts';
export { healthOf } from './health.ts';
export { listen } from './listen.ts';
export { createMetrics } from './metrics.ts';
export { createMirrorApp, createMirrorMetrics } from './mirror.ts';
export type { Personality } from './personality.ts';
export { PERSONALITIES, settlePersonality } from './personality.ts';
export { MAX_REQUEST_SIZE } from './rekor.ts';
export type { IndexRoutes } from './vindex.ts';
export { createIndexApp } from './vindex.ts';
export { witnessRuntime } from './witness.ts';
