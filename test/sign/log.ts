// A log as `tilelog serve` runs it (LevelDB store, sequencer, hono app, real HTTP on 127.0.0.1
// port 0), started in-process. The origin is the log's host:port, as serve's dev key is named, so
// the TrustedRoot baseUrl http://127.0.0.1:PORT names the checkpoint origin as Rekor v2 does.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { serve, type ServerType } from '@hono/node-server';

import { createApp } from '../../src/api/index.ts';
import { type KeyDetails } from '../../src/entries/index.ts';
import { trustMaterial } from '../../src/entries/trust.ts';
import { generateSignerKey, type NoteSigner, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { LevelStore } from '../../src/storage/index.ts';

export interface TestLog {
  readonly baseUrl: string;
  readonly vkey: string;
  readonly signer: NoteSigner;
  readonly log: Log;
  /** trustedRoot is a TrustedRoot with this log's tlogs[] entry (key valid since 2020). */
  readonly trustedRoot: Record<string, unknown>;
  readonly tlog: ReturnType<typeof trustMaterial>['tlog'];
  /** dir holds the store and log.key, the log's signer key file. */
  readonly dir: string;
  close(): Promise<void>;
}

export async function startLog(
  opts: { allowedKeyDetails?: readonly KeyDetails[] } = {},
): Promise<TestLog> {
  const dir = await mkdtemp(join(tmpdir(), 'tilelog-sign-'));
  const late: { app?: ReturnType<typeof createApp> } = {};
  const server: ServerType = await new Promise((resolve) => {
    const s = serve(
      {
        fetch: (req) =>
          late.app ? late.app.fetch(req) : new Response('starting', { status: 503 }),
        hostname: '127.0.0.1',
        port: 0,
      },
      () => resolve(s),
    );
  });
  // Key generation (RSA-4096) can idle a kept-alive connection past Node's 5 s default, and a
  // request sent just as the server closes it is reset: keep idle connections longer.
  (server as import('node:http').Server).keepAliveTimeout = 120_000;
  const addr = server.address();
  const origin = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const skey = generateSignerKey(origin);
  const signer = parseSignerKey(skey);
  await writeFile(join(dir, 'log.key'), skey + '\n', { mode: 0o600 });
  const store = await LevelStore.open(join(dir, 'db'));
  const log = await Log.open(store, { origin, signer, maxAgeMs: 5 });
  late.app = createApp(log, { allowedKeyDetails: opts.allowedKeyDetails });
  const baseUrl = `http://${origin}`;
  const { tlog } = trustMaterial(baseUrl, signer, new Date('2020-01-01T00:00:00Z'));
  return {
    baseUrl,
    vkey: signer.verifierKey,
    signer,
    log,
    tlog,
    dir,
    trustedRoot: {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [tlog],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    },
    async close() {
      await new Promise((r) => server.close(r));
      await log.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
