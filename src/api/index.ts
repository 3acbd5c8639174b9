/** The thin hono HTTP layer. */
export type { ApiOptions } from './app.ts';
export { createApp, normalizePrefix } from './app.ts';
export type { BastionBackend, BastionBackendOptions } from './bastion.ts';
export { bastionKeyHash, connectBastion, loadOrCreateBastionKey } from './bastion.ts';
export { selfSignedCertificate } from './bastion-cert.ts';
export type { Bastion, BastionOptions } from './bastion-server.ts';
export { startBastion } from './bastion-server.ts';
export { readBody } from './body.ts';
export type { Created, TransparencyLogEntry } from './create.ts';
export { admitOptions, createEntry } from './create.ts';
export { GRPC_CODE, logServerError, setErrorLogger, STATUS } from './errors.ts';
export type { ExplorerConfig } from './explorer.ts';
export { EXPLORER_FILES, explorerDir, readExplorerFiles } from './explorer.ts';
export type { ForwardTarget } from './forward.ts';
export { postForward, secretMatches } from './forward.ts';
export type { HealthStatus } from './health.ts';
export { healthOf } from './health.ts';
export type { Listener } from './listen.ts';
export { listen } from './listen.ts';
export type { Metrics } from './metrics.ts';
export { createMetrics } from './metrics.ts';
export { createMirrorApp } from './mirror.ts';
export type { Personality } from './personality.ts';
export {
  parsePersonality,
  PERSONALITIES,
  PERSONALITY_KEY,
  settlePersonality,
} from './personality.ts';
export { MAX_REQUEST_SIZE } from './rekor.ts';
export type { IndexRoutes } from './vindex.ts';
export { createIndexApp, mountIndex, queryKey } from './vindex.ts';
export type { WitnessLogger, WitnessMetrics } from './witness.ts';
export {
  createWitnessApp,
  createWitnessMetrics,
  MAX_REQUEST as MAX_WITNESS_REQUEST,
  witnessRuntime,
} from './witness.ts';
