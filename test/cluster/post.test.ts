// The forwarder's HTTP client (node:http on a keep-alive agent) against real sockets: whole
// answers with their headers, one connection for consecutive posts, and a rejection (never a
// partial answer) when the answer is cut short or the caller gives up.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { postBytes } from '../../src/sequencer/post.ts';

const servers: (Server | HttpServer)[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(s: Server | HttpServer): Promise<string> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

// A server that answers with the request body reversed, and counts its connections.
async function echo(): Promise<{ url: string; connections: () => number }> {
  let n = 0;
  const s = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).reverse();
      res.writeHead(201, { 'X-Seen': req.headers['x-test'] ?? '', 'X-Length': body.length });
      res.end(body);
    });
  });
  s.on('connection', () => n++);
  return { url: await listen(s), connections: () => n };
}

const never = () => new AbortController().signal;

describe('postBytes', () => {
  it('resolves with the status, headers and whole body, over one kept-alive connection', async () => {
    const e = await echo();
    const body = Uint8Array.from({ length: 200_000 }, (_, i) => i % 251);
    for (let i = 0; i < 3; i++) {
      const r = await postBytes(`${e.url}/x`, body, { 'X-Test': `t${i}` }, never());
      expect(r.status).toBe(201);
      expect(r.headers['x-seen']).toBe(`t${i}`);
      expect(Buffer.from(r.body).equals(Buffer.from(body).reverse())).toBe(true);
    }
    expect(e.connections()).toBe(1);
  });

  it('rejects an answer cut short rather than resolving with part of it', async () => {
    const s = createServer((sock) => {
      sockets.push(sock);
      sock.once('data', () => {
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
        setTimeout(() => sock.destroy(), 20);
      });
    });
    const url = await listen(s);
    await expect(postBytes(url, new Uint8Array(10), {}, never())).rejects.toThrow();
  });

  it('rejects when the signal aborts while the answer is awaited', async () => {
    const s = createServer((sock) => void sockets.push(sock)); // accepts, never answers
    const url = await listen(s);
    const abort = new AbortController();
    const p = postBytes(url, new Uint8Array(10), {}, abort.signal);
    setTimeout(() => abort.abort(), 50);
    await expect(p).rejects.toThrow();
  });
});
