// The gRPC server against a real @grpc/grpc-js client: CreateEntry appends exactly what POST
// log/entries would, a duplicate is AlreadyExists with the index in trailing metadata, refusals
// carry rekor-tiles' codes and append nothing (all of it with admission inline and on the
// admission pool's worker threads), and the health service tracks stuck commits.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';

import { admitOptions, createApp } from '../../src/api/index.ts';
import { fromBase64, utf8 } from '../../src/bytes.ts';
import { AdmissionPool } from '../../src/entries/index.ts';
import { startGrpcServer } from '../../src/grpc/index.ts';
import { REKOR_SERVICE } from '../../src/grpc/server.ts';
import { checkInclusion, leafHash } from '../../src/merkle/index.ts';
import {
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { startServer } from '../../src/server.ts';
import { type Commit } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { makeSigner, request } from '../helpers/signers.ts';

const ORIGIN = 'grpc.example.test';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const verifier = parseVerifierKey(signer.verifierKey);

// The client loads the protos as any grpc-js client would (a proto-loader package definition).
const pkg = grpc.loadPackageDefinition(
  loader.loadSync(['rekor/v2/rekor_service.proto', 'grpc/health/v1/health.proto'], {
    includeDirs: [fileURLToPath(new URL('../../proto/', import.meta.url))],
    longs: String,
    enums: String,
    bytes: String,
  }),
) as unknown as {
  dev: { sigstore: { rekor: { v2: { Rekor: grpc.ServiceClientConstructor } } } };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

interface SetupOptions {
  maxPending?: number;
  hang?: () => boolean;
  /** pool: admit on an admission pool (worker threads) rather than inline. */
  pool?: boolean;
}

async function setupWith({ pool, ...logOpts }: SetupOptions = {}) {
  const inner = new MemoryStore();
  const store = Object.assign(Object.create(inner), {
    commit: (c: Commit) => (logOpts.hang?.() ? new Promise<void>(() => {}) : inner.commit(c)),
  }) as MemoryStore;
  const log = await Log.open(store, { origin: ORIGIN, signer, maxAgeMs: 1, ...logOpts });
  const admission = pool ? new AdmissionPool(admitOptions({}), { size: 1 }) : undefined;
  if (admission) cleanup.push(() => admission.close());
  const server = await startGrpcServer(log, {
    host: '127.0.0.1',
    port: 0,
    stuckAfterMs: 50,
    watchIntervalMs: 10,
    admission,
  });
  const creds = grpc.credentials.createInsecure();
  const rekor = new pkg.dev.sigstore.rekor.v2.Rekor(server.address, creds);
  const health = new pkg.grpc.health.v1.Health(server.address, creds);
  cleanup.push(() => server.close());
  cleanup.push(() => (rekor.close(), health.close()));
  const call = (client: grpc.Client, method: string, req: unknown) =>
    new Promise<{ err: grpc.ServiceError | null; res: unknown }>((resolve) =>
      (client as unknown as Record<string, Unary>)[method]!.call(client, req, (err, res) =>
        resolve({ err, res }),
      ),
    );
  return {
    log,
    create: (req: unknown) => call(rekor, 'CreateEntry', req),
    check: (service: string) => call(health, 'Check', { service }),
    health,
  };
}

const s = makeSigner('PKIX_ECDSA_P256_SHA_256');

describe.each([false, true])('gRPC Rekor/CreateEntry (worker threads: %s)', (pool) => {
  const setup = (o: SetupOptions = {}) => setupWith({ ...o, pool });

  it('creates an entry with an inclusion proof, the same bytes POST log/entries logs', async () => {
    const { log, create } = await setup();
    for (let i = 0; i < 4; i++)
      expect((await create(request(s, utf8(`before ${i}`)))).err).toBeNull();
    const req = request(s, utf8('artifact 1'));
    const { err, res } = await create(req);
    expect(err).toBeNull();
    const e = res as {
      logIndex: string;
      logId: { keyId: string };
      kindVersion: { kind: string; version: string };
      canonicalizedBody: string;
      inclusionProof: { logIndex: string; treeSize: string; rootHash: string; hashes: string[] };
    } & Record<string, unknown>;
    expect(e.logIndex).toBe('4');
    expect(e.kindVersion).toEqual({ kind: 'hashedrekord', version: '0.0.2' });
    expect(fromBase64(e.logId.keyId)).toEqual(log.logKeyId);
    const body = fromBase64(e.canonicalizedBody)!;
    expect(JSON.parse(new TextDecoder().decode(body))).toMatchObject({ kind: 'hashedrekord' });
    const cp = parseCheckpoint(
      openNote(
        (e.inclusionProof as unknown as { checkpoint: { envelope: string } }).checkpoint.envelope,
        [verifier],
      ).text,
    );
    expect(e.inclusionProof.treeSize).toBe(String(cp.size));
    checkInclusion(
      4,
      cp.size,
      leafHash(body),
      e.inclusionProof.hashes.map((h) => fromBase64(h)!),
      cp.root,
    );

    // The same request over HTTP is the same entry: a 409 naming index 4.
    const http = await createApp(log, { personality: 'rekor' }).request('/api/v2/log/entries', {
      method: 'POST',
      body: JSON.stringify(req),
    });
    expect(http.status).toBe(409);
    expect(http.headers.get('x-log-index')).toBe('4');
  });

  it('answers AlreadyExists for a duplicate, with the index in trailing metadata', async () => {
    const { log, create } = await setup();
    const reqs = [0, 1, 2].map((i) => request(s, utf8(`a${i}`)));
    for (const r of reqs) expect((await create(r)).err).toBeNull();
    const { err } = await create(reqs[1]);
    expect(err!.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(err!.details).toBe(
      'an equivalent entry already exists in the transparency log with index 1',
    );
    expect(err!.metadata.get('x-log-index')).toEqual(['1']);
    expect(log.state.checkpoint.size).toBe(3);
  });

  it('refuses bad requests with InvalidArgument and a one-line reason, appending nothing', async () => {
    const { log, create } = await setup();
    const cases: [unknown, RegExp][] = [
      [{}, /exactly one of hashedRekordRequestV002/],
      [request(s, utf8('x'), { digest: Buffer.alloc(32).toString('base64') }), /does not verify/],
      [request(s, utf8('x'), { digest: Buffer.alloc(20).toString('base64') }), /digest length/],
    ];
    for (const [req, why] of cases) {
      const { err } = await create(req);
      expect(err!.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err!.details).toMatch(why);
      expect(err!.details).not.toMatch(/\n/);
    }
    expect(log.state.checkpoint.size).toBe(0);
  });

  it('refuses a request over 4 MiB with ResourceExhausted, appends nothing, and serves on', async () => {
    const { log, create } = await setup();
    // A base64 signature of 5 MiB: the message is over the limit before anything is parsed.
    const big = request(s, utf8('x'));
    big.hashedRekordRequestV002.signature.content = Buffer.alloc(5 << 20).toString('base64');
    const { err } = await create(big);
    expect(err!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err!.details).toMatch(/larger than max/);
    expect(err!.details).not.toMatch(/\n/);
    expect(log.state.checkpoint.size).toBe(0);
    expect((await create(request(s, utf8('after the big one')))).err).toBeNull();
  });

  it('is Unavailable on pushback and Unimplemented when frozen', async () => {
    let hang = false;
    const { log, create } = await setup({ maxPending: 1, hang: () => hang });
    hang = true;
    const first = create(request(s, utf8('waits forever')));
    await new Promise((r) => setTimeout(r, 20));
    const { err } = await create(request(s, utf8('one too many')));
    expect(err!.code).toBe(grpc.status.UNAVAILABLE);
    void first;

    const frozen = await setup();
    await frozen.log.freeze();
    const f = await frozen.create(request(s, utf8('after the freeze')));
    expect(f.err!.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(f.err!.details).toBe('This log has been frozen, please switch to the latest log.');
    expect(log.state.checkpoint.size).toBe(0);
  });
});

describe('gRPC grpc.health.v1.Health', () => {
  const setup = setupWith;
  it('says SERVING, NOT_FOUND for an unknown service, and NOT_SERVING once commits are stuck', async () => {
    let hang = false;
    const { log, check, health } = await setup({ hang: () => hang });
    expect((await check('')).res).toEqual({ status: 'SERVING' });
    expect((await check(REKOR_SERVICE)).res).toEqual({ status: 'SERVING' });
    expect((await check('no.such.Service')).err!.code).toBe(grpc.status.NOT_FOUND);

    const seen: string[] = [];
    const watch = (
      health as unknown as { Watch(r: unknown): grpc.ClientReadableStream<unknown> }
    ).Watch({ service: '' });
    watch.on('data', (d: { status: string }) => seen.push(d.status));
    watch.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    hang = true;
    void log.add(utf8('never committed'));
    await new Promise((r) => setTimeout(r, 150));
    expect((await check('')).res).toEqual({ status: 'NOT_SERVING' });
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    watch.cancel();
  });
});

describe('tilelog serve --grpc-listen', () => {
  it('serves gRPC beside HTTP, and /healthz answers as rekor-tiles does', async () => {
    const lines: string[] = [];
    const running = await startServer({
      data: mkdtempSync(join(tmpdir(), 'tilelog-grpc-serve-')),
      listen: '127.0.0.1:0',
      prefix: '/api/v2',
      grpcListen: '127.0.0.1:0',
      say: (l) => lines.push(l),
    });
    cleanup.push(() => running.close());
    const address = /^gRPC .* on (\S+)$/m.exec(lines.join('\n'))![1]!;
    const creds = grpc.credentials.createInsecure();
    const health = new pkg.grpc.health.v1.Health(address, creds);
    const rekor = new pkg.dev.sigstore.rekor.v2.Rekor(address, creds);
    cleanup.push(() => (health.close(), rekor.close()));
    const check = await new Promise<unknown>((resolve, reject) =>
      (health as unknown as Record<string, Unary>).Check!.call(health, {}, (e, r) =>
        e ? reject(e) : resolve(r),
      ),
    );
    expect(check).toEqual({ status: 'SERVING' });
    const created = await new Promise<{ logIndex: string }>((resolve, reject) =>
      (rekor as unknown as Record<string, Unary>).CreateEntry!.call(
        rekor,
        request(s, utf8('over grpc')),
        (e, r) => (e ? reject(e) : resolve(r as { logIndex: string })),
      ),
    );
    expect(created.logIndex).toBe('0');
    const healthz = await fetch(new URL('/healthz', running.url));
    expect(healthz.status).toBe(200);
    expect(await healthz.text()).toMatch(/^\{"status":"SERVING",/);
  }, 30_000);
});
