// tilelog hammer against real logs: a LevelDB `tilelog serve`, an S3 one, the Ceph bucket read
// as a static log with nothing in between, and a proxy that rolls the log back (which the
// hammer must catch).
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runHammer } from '../../src/hammer/index.ts';
import { parseVerifierKey } from '../../src/note/index.ts';
import { publicRead } from '../helpers/bucket.ts';
import { type Child, kill9, startChild } from '../helpers/server.ts';

const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
const bucket = 'tilelog-test';
const children: Child[] = [];
afterAll(async () => {
  for (const c of children) await kill9(c);
});

async function serve(extra: string[] = []): Promise<Child> {
  const c = await startChild(mkdtempSync(join(tmpdir(), 'tilelog-hammer-')), extra);
  children.push(c);
  return c;
}

// A proxy in front of a log that, once `rollBack` is set, serves the checkpoint it saw first.
async function rollbackProxy(upstream: string) {
  const state = { rollBack: false, first: null as string | null };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url!.replace(/^\/api\/v2/, '');
    const up = await fetch(upstream + path, {
      method: req.method,
      headers: { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream' },
      body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    let body = Buffer.from(await up.arrayBuffer());
    if (path === '/checkpoint' && up.ok) {
      state.first ??= body.toString();
      if (state.rollBack) body = Buffer.from(state.first);
    }
    res.writeHead(up.status, { 'Content-Type': up.headers.get('content-type') ?? 'text/plain' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { state, url: `http://127.0.0.1:${port}/api/v2`, close: () => server.close() };
}

describe('tilelog hammer', () => {
  it('writes signed Rekor entries and reads a LevelDB log, verifying everything', async () => {
    const log = await serve();
    const r = await runHammer({
      url: log.url,
      verifiers: [parseVerifierKey(log.vkey)],
      writeRate: 150,
      readRate: 150,
      rekor: true,
      durationMs: 2000,
    });
    expect(r.failures).toEqual([]);
    expect(r.verifyFailures).toBe(0);
    expect(r.errors).toBe(0);
    expect(r.writes).toBeGreaterThan(100);
    expect(r.reads).toBeGreaterThan(100);
    expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
  });

  it('catches a log that rolls back its checkpoint', async () => {
    const log = await serve();
    const proxy = await rollbackProxy(log.url);
    try {
      const run = runHammer({
        url: proxy.url,
        verifiers: [parseVerifierKey(log.vkey)],
        writeRate: 100,
        readRate: 100,
        rekor: true,
        durationMs: 2500,
      });
      await new Promise((r) => setTimeout(r, 1500));
      proxy.state.rollBack = true;
      const r = await run;
      expect(r.verifyFailures).toBeGreaterThan(0);
      expect(
        r.failures.filter((f) => f.startsWith('rollback')),
        r.failures.join('\n'),
      ).not.toEqual([]);
    } finally {
      proxy.close();
    }
  });

  it('loads an S3-backed log, then reads the Ceph bucket as a static log', async () => {
    const prefix = `hammer-${process.pid}-${Date.now()}`;
    await publicRead(endpoint, bucket);
    const s3 = [
      '--storage',
      `s3://${bucket}/${prefix}`,
      '--s3-endpoint',
      endpoint,
      '--s3-path-style',
    ];
    const log = await serve(s3);
    const verifiers = [parseVerifierKey(log.vkey)];
    const w = await runHammer({
      url: log.url,
      verifiers,
      writeRate: 100,
      readRate: 50,
      rekor: true,
      durationMs: 2000,
    });
    expect(w.failures).toEqual([]);
    expect(w.writes).toBeGreaterThan(50);
    const r = await runHammer({
      url: `${endpoint}/${bucket}/${prefix}`,
      verifiers,
      writeRate: 0,
      readRate: 200,
      rekor: false,
      durationMs: 1500,
    });
    expect(r.failures).toEqual([]);
    expect(r.reads).toBeGreaterThan(100);
    expect(r.errors).toBe(0);
  });
});
