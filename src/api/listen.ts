/** The HTTP listener: a fetch handler served by @hono/node-server on HOST:PORT. */
import { serve, type ServerType } from '@hono/node-server';

/** Listener is a listening HTTP server. */
export interface Listener {
  /** url is where it serves, with the real port when 0 was asked for, and the prefix. */
  readonly url: string;
  /** close stops accepting and resolves once the requests in flight have been answered. */
  close(): Promise<void>;
}

/** listen starts serving fetch on host:port; url ends with prefix. */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  host: string,
  port: number,
  prefix: string,
): Promise<Listener> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch, hostname: host, port }, () => resolve(s));
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}${prefix}`,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      // Idle keep-alive connections would hold close() open; busy ones finish their request.
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
    },
  };
}
