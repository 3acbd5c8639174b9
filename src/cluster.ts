/**
 * The cluster options of `tilelog serve` on S3: the lease (with its pino logging of every change)
 * and the forwarding secret and metrics. Composition only; src/sequencer/cluster.ts is the logic.
 */
import type { Logger } from 'pino';

import { toHex } from './bytes.ts';
import { randomBytes } from './crypto.ts';
import { LogError } from './errors.ts';
import { type ClusterOptions, type ForwarderEvents, isBaseUrl, Lease } from './sequencer/index.ts';
import type { IndexedStore } from './storage/index.ts';

/** clusterOf makes the lease (and the forwarding options) of an instance sharing a log on S3. */
export function clusterOf(
  store: IndexedStore,
  cfg: {
    readonly advertiseUrl?: string;
    readonly leaseMs?: number;
    readonly clusterSecret?: string;
  },
  logger: Logger,
  forwarded: ForwarderEvents,
): ClusterOptions {
  if (cfg.advertiseUrl !== undefined && !isBaseUrl(cfg.advertiseUrl))
    throw new LogError(
      'bad_request',
      `advertise-url ${cfg.advertiseUrl} is not http(s)://HOST[:PORT]`,
    );
  const lease = new Lease({
    store: store.versioned!,
    id: toHex(randomBytes(8)),
    url: '',
    leaseMs: cfg.leaseMs,
    events: {
      changed: (info, reason) => logger.info({ lease: info, reason }, 'lease changed'),
      unreadable: (err) =>
        logger.error({ err }, 'lease object unreadable: staying a frontend, never overwriting it'),
    },
  });
  return {
    lease,
    secret: cfg.clusterSecret ?? '',
    forwarderEvents: forwarded,
    warn: (what, err) => logger.warn({ err }, what),
  };
}
