/**
 * Reading request bodies with a size limit. On Node, the body is read straight from the
 * IncomingMessage that @hono/node-server passes as c.env.incoming: going through the Fetch
 * Request (undici) costs more CPU per POST than the rest of the write path together.
 */
import type { IncomingMessage } from 'node:http';

import type { Context } from 'hono';

import { concat } from '../bytes.ts';
import { LogError } from '../errors.ts';

/** readBody returns the request body, or throws too_large once it passes maxSize bytes. */
export async function readBody(c: Context, maxSize: number): Promise<Uint8Array> {
  const tooLarge = () => new LogError('too_large', `body is over ${maxSize} bytes`);
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > maxSize) throw tooLarge();
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) {
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > maxSize) throw tooLarge();
    return body;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of incoming as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > maxSize) {
        incoming.resume(); // drain the rest so the connection stays usable
        throw tooLarge();
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof LogError) throw err;
    // The client went away mid-body: its problem, not ours (and nobody is left to answer).
    throw new LogError('bad_request', 'the client aborted the request body');
  }
  if (chunks.length === 1) return new Uint8Array(chunks[0]!.buffer, chunks[0]!.byteOffset, size);
  return concat(...chunks);
}
