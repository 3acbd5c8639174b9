/**
 * The log's health in grpc.health.v1 terms, for GET /healthz and the gRPC Health service alike:
 * SERVING, or NOT_SERVING once submissions have waited stuckAfterMs with no commit landing (the
 * storage is down or the sequencer is wedged, so a load balancer should send writes elsewhere),
 * or while the log says it cannot take submissions (a frontend that reaches no sequencer, an
 * unreadable lease object).
 */
import type { Log } from '../sequencer/index.ts';

/** HealthStatus is the grpc.health.v1 ServingStatus of a log. */
export type HealthStatus = 'SERVING' | 'NOT_SERVING';

/** STUCK_AFTER_MS is the default for how long submissions may wait with no commit (30 s). */
export const STUCK_AFTER_MS = 30_000;

/** healthOf returns the log's serving status. */
export function healthOf(log: Log, stuckAfterMs = STUCK_AFTER_MS): HealthStatus {
  return log.stuckForMs < stuckAfterMs && !log.unhealthy ? 'SERVING' : 'NOT_SERVING';
}
