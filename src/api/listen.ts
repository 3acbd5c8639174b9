/**
 * The HTTP listener: a fetch handler served by @hono/node-server's request listener on a Node
 * HTTP server, with the connection handling a client needs to read every answer. An answer given
 * before the request body has arrived (413, 404) closes the connection in stages, as RFC 9112
 * §9.6 describes: half-close our side, keep reading what the client still sends for a bounded
 * time and amount, then close. Closing at once with unread bytes makes the kernel send a reset,
 * and a client that reads only after sending loses the answer. Requests Node's parser refuses,
 * and CONNECT, get a one-line 4xx the same way, where Node would drop the connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { getRequestListener, type HttpBindings, RequestError } from '@hono/node-server';

import { logServerError } from './errors.ts';

// Only HTTP/1.1 is served here, so env is always HttpBindings.
type FetchCallback = Parameters<typeof getRequestListener>[0];

/** Listener is a listening HTTP server. */
export interface Listener {
  /** url is where it serves, with the real port when 0 was asked for, and the prefix. */
  readonly url: string;
  /** close stops accepting and resolves once the requests in flight have been answered. */
  close(): Promise<void>;
}

/** Fetch answers one request; env carries Node's request and response (hono's c.env). */
export type Fetch = (req: Request, env: HttpBindings) => Response | Promise<Response>;

/** LINGER_MS is how long a closing connection keeps reading (Apache and nginx use seconds). */
export const LINGER_MS = 3000;

/** LINGER_BYTES is the most a closing connection reads and discards before it resets. */
export const LINGER_BYTES = 64 << 20;

/** listen starts serving fetch on host:port; url ends with prefix. */
export async function listen(
  fetch: Fetch,
  host: string,
  port: number,
  prefix: string,
): Promise<Listener> {
  const handle = getRequestListener(closeIfUnread(fetch) as FetchCallback, {
    hostname: host,
    errorHandler: refuseRequest,
  });
  // Node would answer a missing Host with an empty 400; this one says why.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    if (req.httpVersion !== '1.1' || req.headers.host !== undefined) return void handle(req, res);
    const body = 'an HTTP/1.1 request needs a Host header (RFC 9112 section 3.2)\n';
    res.writeHead(400, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': body.length,
      Connection: 'close',
    });
    res.end(body);
  });
  server.on('connection', (socket: Socket) => {
    // Node's server ends a connection after its last answer with destroySoon(), which closes
    // the socket as soon as the answer is written, unread bytes or not: close in stages instead.
    socket.destroySoon = () => closeInStages(socket);
  });
  server.on('clientError', answerClientError);
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    const answer = plainAnswer(405, 'CONNECT is not served here: this is not a proxy', {
      Allow: 'GET, HEAD, POST',
    });
    closeInStages(socket, answer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}${prefix}`,
    close: () => closeServer(server),
  };
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  // Idle keep-alive connections would hold close() open; busy ones finish their request.
  server.closeIdleConnections();
  await closed;
}

// An answer given while the request body is still arriving ends the connection: keeping it alive
// would mean reading the whole unread body first, however large.
function closeIfUnread(fetch: Fetch): Fetch {
  const mark = (res: Response, env: HttpBindings): Response => {
    // complete is not yet set for a request without a body when a sync handler answers it.
    const { headers, complete } = env.incoming;
    const body =
      headers['transfer-encoding'] !== undefined || +(headers['content-length'] ?? 0) > 0;
    if (body && !complete) env.outgoing.shouldKeepAlive = false;
    return res;
  };
  return (req, env) => {
    const res = fetch(req, env);
    return res instanceof Promise ? res.then((r) => mark(r, env)) : mark(res, env);
  };
}

// hono refuses some targets and Host values that Node's parser lets through (a RequestError,
// answered with an empty 400 by default): say why in one line. Anything else is our bug.
function refuseRequest(err: unknown): Response {
  const plain = { 'Content-Type': 'text/plain; charset=utf-8' };
  if (err instanceof RequestError) {
    return new Response(`malformed request: ${oneLine(err.message)}\n`, {
      status: 400,
      headers: plain,
    });
  }
  logServerError(err);
  return new Response('internal error\n', { status: 500, headers: plain });
}

const closing = new WeakSet<Socket>();

/**
 * closeInStages writes answer (if any), half-closes the socket and keeps reading and discarding
 * until the client closes its side, LINGER_MS pass or LINGER_BYTES arrive; then it closes.
 * Calling it again on the same socket does nothing.
 */
function closeInStages(socket: Socket, answer?: string): void {
  if (closing.has(socket) || socket.destroyed) return;
  closing.add(socket);
  // After an upgrade or a parse error nobody else listens for errors (a late reset).
  socket.on('error', () => socket.destroy());
  if (answer === undefined) socket.end();
  else socket.end(answer);
  const start = socket.bytesRead;
  const give = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  const watch = setInterval(() => {
    if (socket.bytesRead - start > LINGER_BYTES) socket.destroy();
  }, 50).unref();
  socket.once('close', () => {
    clearTimeout(give);
    clearInterval(watch);
  });
  // Reading on lets the client's last bytes in; with both sides ended the socket closes itself.
  socket.resume();
}

// Node's default clientError handler writes a bare 400 and destroys the socket at once, so the
// answer is often lost; this one names the problem and closes in stages.
function answerClientError(err: ClientError, socket: Socket): void {
  if (closing.has(socket)) return; // more of what the client sent while we close
  const status = clientErrorStatus(err);
  const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (status === undefined || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  closeInStages(socket, plainAnswer(status.code, status.reason));
}

type ClientError = Error & { code?: string; reason?: string; rawPacket?: Buffer };

// The status for an error of Node's HTTP parser (llhttp's HPE_ codes), or undefined when the
// connection itself failed and there is nobody to answer.
function clientErrorStatus(err: ClientError): { code: number; reason: string } | undefined {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      // The limit covers the request line too: if that never ended, the target was too long.
      return requestLineTooLong(err.rawPacket)
        ? { code: 414, reason: 'the request target is too long' }
        : { code: 431, reason: 'the request header fields are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 413, reason: 'the chunk extensions are too large' };
    case 'HPE_INVALID_EOF_STATE':
      return { code: 400, reason: 'the connection was half-closed before the request ended' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 408, reason: 'the request did not arrive in time' };
  }
  if (!err.code?.startsWith('HPE_')) return undefined;
  return { code: 400, reason: `malformed request: ${err.reason ?? err.code}` };
}

// Whether the request line alone takes half of Node's header limit (16 KiB): the target is what
// was too long. Only the last chunk read is at hand; a line split across chunks counts as headers.
function requestLineTooLong(raw: Buffer | undefined): boolean {
  if (raw === undefined || !/^[A-Z]+ /.test(raw.toString('latin1', 0, 16))) return false;
  const end = raw.indexOf(10);
  return (end < 0 ? raw.length : end) >= 8192;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

// A complete HTTP/1.1 answer with a one-line text body, closing the connection.
function plainAnswer(code: number, reason: string, extra: Record<string, string> = {}): string {
  const body = oneLine(reason) + '\n';
  const head = [
    `HTTP/1.1 ${code} ${STATUS_TEXT[code] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${body.length}`,
    'Connection: close',
    ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`),
  ];
  return head.join('\r\n') + '\r\n\r\n' + body;
}

// A reason as one line of printable ASCII, short enough to read.
function oneLine(s: string): string {
  return s.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 200);
}
