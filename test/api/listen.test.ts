// The HTTP edge against raw sockets, reading the exact bytes a client gets: an answer given before
// the body was read must reach the client (the connection closes in stages, RFC 9112 §9.6, rather
// than being reset), and requests Node's parser or hono refuses, and CONNECT, get a one-line 4xx.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { listen, setErrorLogger } from '../../src/api/index.ts';
import { LINGER_MS } from '../../src/api/listen.ts';
import { createWitnessApp } from '../../src/api/witness.ts';
import { cosignerFromSeed } from '../../src/note/cosignature.ts';
import { ALG_COSIGNATURE_V1, generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { type RunningLog, startServer } from '../../src/server.ts';
import { openLocalMap } from '../../src/storage/index.ts';
import { parseWitnessConfig, Witness } from '../../src/witness/index.ts';

interface Exchange {
  /** head is what the client read before the connection ended (empty if nothing). */
  readonly head: string;
  readonly status?: number;
  /** error is the socket error the client saw before it had read a status line. */
  readonly error?: string;
}

// exchange sends head (and body, if any) on a fresh connection and reads until the server closes.
// Like many simple clients it reads only once it has sent the whole request (HTTP/1.1 allows that)
// and stops sending once the server has closed.
// With halfClose it ends its side once the request is sent.
function exchange(
  port: number,
  head: string | Buffer,
  body?: Buffer,
  halfClose = false,
): Promise<Exchange> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.pause();
    const chunks: Buffer[] = [];
    let error: string | undefined;
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => s.destroy());
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (chunks.length === 0) error = e.code ?? e.message;
    });
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      resolve({ head: text, status: m ? Number(m[1]) : undefined, error });
    });
    s.write(head);
    s.write(body ?? '', () => s.resume());
    if (halfClose) s.end();
  });
}

// bodyLine is the first line of an answer's body.
function bodyLine(head: string): string {
  return head.slice(head.indexOf('\r\n\r\n') + 4).split('\n')[0]!;
}

let running: RunningLog;
let port: number;

beforeAll(async () => {
  running = await startServer({
    data: mkdtempSync(join(tmpdir(), 'tilelog-listen-')),
    listen: '127.0.0.1:0',
    prefix: '/api/v2',
    personality: 'generic',
    say: () => {},
  });
  port = Number(new URL(running.url).port);
});

afterAll(async () => {
  await running?.close();
});

const upload = (path: string, size: number) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`;

describe('answers given before the body is read', () => {
  it('240 parallel 3 MB uploads with Connection: close all read their 413 or 404', async () => {
    const body = Buffer.alloc(3_000_000, 0x61);
    const paths = ['/api/v2/add', '/no/such/route'];
    const results = await Promise.all(
      Array.from({ length: 240 }, (_, i) =>
        exchange(port, upload(paths[i % 2]!, body.length), body),
      ),
    );
    const lost = results.filter((r) => r.status === undefined);
    expect(lost.map((r) => r.error ?? 'no answer')).toEqual([]);
    results.forEach((r, i) => expect(r.status).toBe(i % 2 === 0 ? 413 : 404));
    expect(bodyLine(results[0]!.head)).toBe('body is over 65535 bytes');
    expect(results[0]!.head).toMatch(/\r\nConnection: close\r\n/i);
    expect((await fetch(`${running.url}/checkpoint`)).status).toBe(200);
  }, 120_000);

  it('a 30 MB upload, more than the kernel buffers hold, still reads its 413', async () => {
    const r = await exchange(port, upload('/api/v2/add', 30e6), Buffer.alloc(30e6, 0x62));
    expect([r.status, r.error]).toEqual([413, undefined]);
  });

  it('a chunked upload over the limit reads its 413', async () => {
    const head = 'POST /api/v2/add HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
    const chunk = Buffer.alloc(1 << 20, 0x63);
    const body = Buffer.concat([
      ...Array.from({ length: 3 }, () =>
        Buffer.concat([Buffer.from('100000\r\n'), chunk, Buffer.from('\r\n')]),
      ),
      Buffer.from('0\r\n\r\n'),
    ]);
    const r = await exchange(port, head, body);
    expect([r.status, r.error, bodyLine(r.head)]).toEqual([
      413,
      undefined,
      'body is over 65535 bytes',
    ]);
  });

  it('an early answer on a keep-alive connection closes it; a read answer keeps it', async () => {
    const early = await exchange(
      port,
      upload('/api/v2/add', 3e6).replace('Connection: close\r\n', ''),
      Buffer.alloc(3e6),
    );
    expect([early.status, early.error]).toEqual([413, undefined]);
    expect(early.head).toMatch(/\r\nConnection: close\r\n/);
    // Two requests on one connection, the second closing it: both answered, the first kept alive.
    const get = 'GET /api/v2/checkpoint HTTP/1.1\r\nHost: x\r\n';
    const two = await exchange(port, `${get}\r\n${get}Connection: close\r\n\r\n`);
    expect(two.head.match(/^HTTP\/1\.1 200 /gm)).toHaveLength(2);
    expect(two.head).toMatch(/\r\nConnection: keep-alive\r\n/);
  });

  it('stops reading a client that never stops sending, after it has read its 413', async () => {
    const started = Date.now();
    const s = connect(port, '127.0.0.1');
    let head = '';
    s.on('data', (d: Buffer) => (head += d.toString('latin1')));
    s.on('error', () => undefined);
    s.write(upload('/api/v2/add', 1e12));
    const chunk = Buffer.alloc(1 << 20);
    const pump = () => {
      while (!s.destroyed && s.write(chunk));
    };
    s.on('drain', pump);
    pump();
    await new Promise((r) => s.once('close', r));
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(Date.now() - started).toBeLessThan(LINGER_MS + 5000);
  });
});

const TE_CL = 'POST /api/v2/add HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n';
const refused: [string, string | Buffer, number, RegExp][] = [
  [
    'a non-ASCII target',
    Buffer.from('GET /caf\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n'),
    400,
    /^malformed/,
  ],
  ['a target not starting with /', 'GET foo HTTP/1.1\r\nHost: x\r\n\r\n', 400, /^malformed/],
  ['a bad header name', 'GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n', 400, /^malformed/],
  ['a bad method', 'G@T / HTTP/1.1\r\nHost: x\r\n\r\n', 400, /^malformed/],
  ['a bare LF in the head', 'GET / HTTP/1.1\nHost: x\r\n\r\n', 400, /^malformed/],
  [
    'a body cut short by a half-close',
    'POST /api/v2/add HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nab',
    400,
    /half-closed/,
  ],
  ['no Host header', 'GET /api/v2/checkpoint HTTP/1.1\r\n\r\n', 400, /needs a Host header/],
  ['a Host hono cannot use', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, /^malformed request: /],
  ['a bad absolute target', 'GET http://x:y/ HTTP/1.1\r\nHost: x\r\n\r\n', 400, /^malformed/],
  [
    'oversized headers',
    `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
    431,
    /too large/,
  ],
  ['an over-long target', `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, /too long/],
  [
    'CONNECT',
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    405,
    /not a proxy/,
  ],
];

describe("requests Node's parser or hono refuses, and CONNECT", () => {
  it.each(refused)(
    '%s gets a one-line answer and a clean close',
    async (_, raw, status, reason) => {
      const r = await exchange(port, raw, undefined, true);
      expect([r.status, r.error]).toEqual([status, undefined]);
      expect(bodyLine(r.head)).toMatch(reason);
      expect(r.head).toMatch(/\r\nContent-Length: \d+\r\n/i);
    },
  );

  it('answers conflicting Transfer-Encoding and Content-Length with exactly these bytes', async () => {
    const r = await exchange(port, `${TE_CL}Content-Length: 5\r\n\r\n0\r\n\r\n`);
    const line = "malformed request: Content-Length can't be present with Transfer-Encoding\n";
    expect(r.head).toBe(
      'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${line.length}\r\nConnection: close\r\n\r\n${line}`,
    );
    expect((await fetch(`${running.url}/checkpoint`)).status).toBe(200);
  });
});

describe('the witness on the same listener', () => {
  it('treats a client that abandons its body as a client error, not an internal one', async () => {
    const logKey = parseSignerKey(generateSignerKey('log.example.test/listen'));
    const ed = cosignerFromSeed('w.example.test/ed', ALG_COSIGNATURE_V1, new Uint8Array(32));
    const state = await openLocalMap(join(mkdtempSync(join(tmpdir(), 'tilelog-listen-w-')), 's'));
    const config = parseWitnessConfig(`log log.example.test/listen ${logKey.verifierKey}\n`);
    const logged: unknown[] = [];
    setErrorLogger((err) => logged.push(err));
    const l = await listen(
      createWitnessApp(new Witness(config, [ed], state)).fetch,
      '127.0.0.1',
      0,
      '',
    );
    try {
      const wport = Number(new URL(l.url).port);
      const head =
        'POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nold 5\n';
      // One client half-closes mid-body and reads the answer, the other just goes away.
      const half = await exchange(wport, head, undefined, true);
      expect([half.status, half.error]).toEqual([400, undefined]);
      const gone = connect(wport, '127.0.0.1');
      gone.on('error', () => undefined);
      gone.write(head);
      await new Promise((r) => setTimeout(r, 100));
      gone.destroy();
      await new Promise((r) => setTimeout(r, 300));
      expect(logged).toEqual([]);
    } finally {
      await l.close();
      await state.close();
    }
  });
});
