/**
 * A small HTTPS bastion (C2SP https-bastion), for tests and for operators who run their own:
 * backends dial its backend endpoint over TLS 1.3 with ALPN `bastion/0` and an Ed25519 client
 * certificate, and it then speaks HTTP/2 to them as a client over that connection; clients send
 * it requests for /<key hash>/<path>, which it proxies as /<path> to the backend whose public key
 * hashes to <key hash>, with one X-Forwarded-For header naming the client. Nothing is cached.
 * With an allowlist it answers 421 for an unknown key hash and 503 for a known one that is not
 * connected; without one it cannot tell those apart and answers 502 (https-bastion, "Client to
 * bastion requests").
 */
import { createPublicKey } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import {
  type ClientHttp2Session,
  connect as http2Connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';

import { BASTION_ALPN, bastionKeyHash } from './bastion.ts';

/** BastionOptions configures startBastion. */
export interface BastionOptions {
  /** backends is where backends connect (TLS 1.3); clients is where clients ask (HTTP). */
  readonly backends: { readonly host: string; readonly port: number };
  readonly clients: { readonly host: string; readonly port: number };
  /** key and cert are the PEM key and certificate of the backend endpoint. */
  readonly key: string;
  readonly cert: string;
  /** clientsTls serves clients over HTTPS with key and cert too (default: plain HTTP). */
  readonly clientsTls?: boolean;
  /** allow is the set of backend key hashes served; without it any Ed25519 backend is. */
  readonly allow?: ReadonlySet<string>;
  readonly say?: (line: string) => void;
}

/** Bastion is a running bastion. */
export interface Bastion {
  /** backendAddress is HOST:PORT of the backend endpoint. */
  readonly backendAddress: string;
  /** url is the client endpoint: a backend is at url/<key hash>. */
  readonly url: string;
  /** connected reports whether a backend with that key hash is connected. */
  connected(keyHash: string): boolean;
  close(): Promise<void>;
}

// Hop-by-hop and HTTP/1-only headers, which HTTP/2 forbids (RFC 9113 §8.2.2).
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'te',
  'http2-settings',
  'x-forwarded-for',
]);

const addressOf = (a: AddressInfo | string | null, host: string): string =>
  `${host.includes(':') ? `[${host}]` : host}:${typeof a === 'object' && a ? a.port : 0}`;

/** startBastion starts both endpoints of a bastion. */
export async function startBastion(opts: BastionOptions): Promise<Bastion> {
  const say = opts.say ?? (() => undefined);
  const backends = new Map<string, ClientHttp2Session>();
  const tls = createTlsServer(
    {
      key: opts.key,
      cert: opts.cert,
      requestCert: true,
      // Backends are self-signed: the key, proven by the TLS handshake, is what is checked.
      rejectUnauthorized: false,
      ALPNProtocols: [BASTION_ALPN],
      minVersion: 'TLSv1.3',
    },
    (socket) => accept(socket),
  );
  const accept = (socket: TLSSocket) => {
    socket.on('error', () => undefined);
    const peer = socket.getPeerX509Certificate();
    let hash: string;
    try {
      if (socket.alpnProtocol !== BASTION_ALPN || !peer) throw new Error('no bastion/0 or no cert');
      hash = bastionKeyHash(
        createPublicKey(peer.publicKey.export({ type: 'spki', format: 'pem' })),
      );
    } catch {
      socket.destroy();
      return;
    }
    if (opts.allow && !opts.allow.has(hash)) {
      say(`bastion: refused backend ${hash}: not on the allowlist`);
      socket.destroy();
      return;
    }
    const session = http2Connect('http://backend.invalid', { createConnection: () => socket });
    session.on('error', () => undefined);
    session.on('close', () => {
      if (backends.get(hash) === session) backends.delete(hash);
    });
    const old = backends.get(hash);
    backends.set(hash, session);
    old?.close();
    say(`bastion: backend ${hash} connected`);
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => proxy(req, res);
  const http = opts.clientsTls
    ? createHttpsServer({ key: opts.key, cert: opts.cert }, handler)
    : createHttpServer(handler);
  const proxy = (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/([0-9a-f]{64})(?=[/?]|$)(.*)$/s.exec(req.url ?? '');
    const fail = (status: number, why: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`bastion: ${why}\n`);
    };
    if (!m) return fail(404, 'want /<key hash>/<path>');
    const session = backends.get(m[1]!);
    if (!session || session.closed || session.destroyed) {
      if (!opts.allow) return fail(502, 'no backend connected with this key hash');
      if (opts.allow.has(m[1]!)) return fail(503, 'the backend is not connected');
      return fail(421, 'unknown key hash');
    }
    const path = m[2]!.startsWith('/') ? m[2]! : `/${m[2]!}`;
    const headers: OutgoingHttpHeaders = {
      [constants.HTTP2_HEADER_METHOD]: req.method ?? 'GET',
      [constants.HTTP2_HEADER_PATH]: path,
      [constants.HTTP2_HEADER_AUTHORITY]: req.headers.host ?? 'bastion',
      'x-forwarded-for': req.socket.remoteAddress ?? '',
    };
    for (const [k, v] of Object.entries(req.headers))
      if (!HOP.has(k) && v !== undefined) headers[k] = v;
    let stream;
    try {
      stream = session.request(headers);
    } catch {
      return fail(502, 'the backend connection failed');
    }
    stream.on('response', (h: IncomingHttpHeaders) => {
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && v !== undefined) out[k] = v;
      res.writeHead(Number(h[constants.HTTP2_HEADER_STATUS]), out);
      stream.pipe(res);
    });
    stream.on('error', () => (res.headersSent ? res.destroy() : fail(502, 'the backend failed')));
    req.pipe(stream);
  };
  await Promise.all([
    new Promise<void>((r) => tls.listen(opts.backends.port, opts.backends.host, r)),
    new Promise<void>((r) => http.listen(opts.clients.port, opts.clients.host, r)),
  ]);
  const backendAddress = addressOf(tls.address(), opts.backends.host);
  return {
    backendAddress,
    url: `${opts.clientsTls ? 'https' : 'http'}://${addressOf(http.address(), opts.clients.host)}`,
    connected: (h) => backends.has(h),
    async close() {
      const closing = [
        new Promise<void>((r) => tls.close(() => r())),
        new Promise<void>((r) => http.close(() => r())),
      ];
      http.closeAllConnections();
      for (const s of backends.values()) s.destroy();
      await Promise.all(closing);
    },
  };
}
