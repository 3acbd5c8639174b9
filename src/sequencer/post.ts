/**
 * postBytes: one HTTP(S) POST through node:http on a keep-alive agent, for forwarding batches
 * (forward.ts). The global fetch (undici: WHATWG streams, Request and Response objects) cost a
 * frontend ~3x the CPU of this per forward (a 30 KB batch on loopback, client and server in one
 * process: 380-1,260 against 140-310 µs), and a frontend forwards 10-20 times a second.
 * Owned here: the two agents (one per scheme), which keep the connections to the sequencers.
 */
import http from 'node:http';
import https from 'node:https';

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/** PostAnswer is an answer's status, headers (lower-case names) and whole body. */
export interface PostAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/**
 * postBytes sends body to url and resolves with the whole answer; it rejects on a network error,
 * on an answer cut short, and when signal aborts (before or during the answer).
 */
export function postBytes(
  url: string,
  body: Uint8Array,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<PostAnswer> {
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  const agent = u.protocol === 'https:' ? agents['https:'] : agents['http:'];
  return new Promise((resolve, reject) => {
    const req = client.request(
      u,
      {
        method: 'POST',
        agent,
        signal,
        headers: { ...headers, 'Content-Length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error('the connection closed before the answer ended'));
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
