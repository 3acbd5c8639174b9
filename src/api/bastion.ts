/**
 * The backend side of an HTTPS bastion (C2SP https-bastion): the witness dials out to the
 * bastion's backend endpoint over TLS 1.3 with ALPN `bastion/0`, presents a self-signed Ed25519
 * client certificate, and then serves HTTP/2 on that connection as if the bastion had connected
 * to it; the bastion routes clients' requests for /<key hash>/<path> to it as /<path>. So a
 * witness with no reachable address can still be asked. A lost connection is dialled again with
 * backoff (1 s doubling to 60 s), for as long as the backend is open.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttp2Server, type Http2Session } from 'node:http2';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

import { getRequestListener } from '@hono/node-server';

import { selfSignedCertificate } from './bastion-cert.ts';

/** BASTION_ALPN is the ALPN protocol of backend connections (https-bastion). */
export const BASTION_ALPN = 'bastion/0';

/** bastionKeyHash returns the lowercase hex SHA-256 of an Ed25519 public key's 32 bytes. */
export function bastionKeyHash(pub: KeyObject): string {
  const x = pub.export({ format: 'jwk' }).x;
  if (pub.asymmetricKeyType !== 'ed25519' || !x) throw new Error('bastion: not an Ed25519 key');
  return createHash('sha256').update(Buffer.from(x, 'base64url')).digest('hex');
}

/** BastionBackendOptions configures connectBastion. */
export interface BastionBackendOptions {
  /** bastion is the backend endpoint: HOST:PORT or https://HOST:PORT. */
  readonly bastion: string;
  /** key is the backend's Ed25519 private key. */
  readonly key: KeyObject;
  /** ca are PEM trust anchors for the bastion's certificate (default: the system's). */
  readonly ca?: string;
  readonly fetch: (req: Request) => Response | Promise<Response>;
  /** retryMs is the first delay before dialling again (default 1,000; doubles to 60,000). */
  readonly retryMs?: number;
  readonly say?: (line: string) => void;
}

/** BastionBackend is a backend's link to its bastion. */
export interface BastionBackend {
  /** keyHash is the path segment under which the bastion serves this backend. */
  readonly keyHash: string;
  /** connected resolves once a connection to the bastion is serving (the first one, or again). */
  connected(): Promise<void>;
  /** close stops dialling, lets the requests in flight finish and closes the connection. */
  close(): Promise<void>;
}

/** splitHostPort parses HOST:PORT, [V6]:PORT or https://HOST:PORT. */
function splitHostPort(s: string): { host: string; port: number } {
  const m = /^(?:https:\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):([0-9]{1,5})\/?$/.exec(s);
  const port = Number(m?.[2]);
  if (!m || !(port > 0 && port < 65536)) throw new Error(`bastion: want HOST:PORT, not ${s}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** connectBastion dials the bastion and serves fetch over every connection it gets. */
export function connectBastion(opts: BastionBackendOptions): BastionBackend {
  const { host, port } = splitHostPort(opts.bastion);
  const pub = createPublicKey(opts.key);
  const keyHash = bastionKeyHash(pub);
  const pem = opts.key.export({ type: 'pkcs8', format: 'pem' }) as string;
  const say = opts.say ?? (() => undefined);
  const first = opts.retryMs ?? 1000;
  const h2 = createHttp2Server(getRequestListener(opts.fetch));
  const sessions = new Set<Http2Session>();
  // Served: sessions on which the bastion's SETTINGS came, i.e. it took us on as a backend
  // (a bastion that refuses our key closes the connection after the TLS handshake instead).
  const served = new Set<Http2Session>();
  let waiters: (() => void)[] = [];
  h2.on('session', (s: Http2Session) => {
    sessions.add(s);
    s.on('close', () => {
      sessions.delete(s);
      served.delete(s);
    });
    s.on('error', () => undefined); // the socket's close redials
    s.once('remoteSettings', () => {
      served.add(s);
      say(`bastion: connected to ${opts.bastion}, serving as /${keyHash}`);
      for (const w of waiters) w();
      waiters = [];
    });
  });
  let closed = false;
  let socket: TLSSocket | undefined;
  let delay = first;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const dial = () => {
    if (closed) return;
    const cert = selfSignedCertificate(opts.key, pub, { commonName: 'tilelog bastion backend' });
    const s = connect({
      host,
      port,
      servername: isIP(host) ? undefined : host,
      key: pem,
      cert,
      ca: opts.ca,
      ALPNProtocols: [BASTION_ALPN],
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    });
    socket = s;
    s.once('secureConnect', () => {
      if (s.alpnProtocol !== BASTION_ALPN) {
        s.destroy(new Error(`the bastion did not agree to ALPN ${BASTION_ALPN}`));
        return;
      }
      delay = first;
      h2.emit('connection', s);
    });
    s.once('error', (err) => say(`bastion: ${opts.bastion}: ${err.message}`));
    s.once('close', () => {
      if (socket === s) socket = undefined;
      if (closed) return;
      timer = setTimeout(dial, delay);
      delay = Math.min(delay * 2, 60_000);
    });
  };
  dial();
  return {
    keyHash,
    connected: () =>
      served.size > 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve)),
    async close() {
      closed = true;
      clearTimeout(timer);
      await Promise.all([...sessions].map((s) => new Promise<void>((r) => s.close(() => r()))));
      socket?.destroy();
    },
  };
}

/**
 * loadOrCreateBastionKey reads the backend's Ed25519 key (PKCS#8 PEM) from file, or makes one
 * there (0600) when there is none: https-bastion recommends a key of its own, not the witness key.
 */
export async function loadOrCreateBastionKey(file: string): Promise<KeyObject> {
  if (existsSync(file)) {
    const key = createPrivateKey(await readFile(file, 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519')
      throw new Error(`bastion: ${file} is not an Ed25519 key`);
    return key;
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  return privateKey;
}
