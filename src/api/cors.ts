/**
 * CORS for the read paths (checkpoint, tiles, proofs, entries, lookups): any origin may read
 * them, as Sunlight recommends for static logs, so the explorer and other browser clients can
 * verify a log served elsewhere. Writes get no CORS headers: a page on another origin cannot read
 * what a POST answers. Requests the read paths take are "simple" (GET, no custom headers), so no
 * preflight is needed.
 */
import type { Context, MiddlewareHandler } from 'hono';

/** readCors adds Access-Control-Allow-Origin: * to every GET and HEAD answer, errors included. */
export const readCors: MiddlewareHandler = async (c, next) => {
  await next();
  if (c.req.method === 'GET' || c.req.method === 'HEAD')
    c.res.headers.set('Access-Control-Allow-Origin', '*');
};

/**
 * corsOnRead adds Access-Control-Allow-Origin: * to the answer being built when the request is a
 * GET or HEAD under prefix: for answers no middleware sees (a path no route matches).
 */
export function corsOnRead(c: Context, prefix: string): void {
  if ((c.req.method === 'GET' || c.req.method === 'HEAD') && c.req.path.startsWith(prefix + '/'))
    c.header('Access-Control-Allow-Origin', '*');
}
