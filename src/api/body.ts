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
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const declared = incoming ? incoming.headers['content-length'] : c.req.header('content-length');
  if (declared !== undefined && Number(declared) > maxSize) throw tooLarge(maxSize);
  if (!incoming) {
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > maxSize) throw tooLarge(maxSize);
    return body;
  }
  const chunks = await readIncoming(incoming, maxSize);
  // A plain Uint8Array (a view, no copy), not the Buffer: callers expect Uint8Array semantics.
  const one = chunks.length === 1 ? chunks[0]! : undefined;
  return one ? new Uint8Array(one.buffer, one.byteOffset, one.length) : concat(...chunks);
}

function tooLarge(maxSize: number): LogError {
  return new LogError('too_large', `body is over ${maxSize} bytes`);
}

// Events rather than `for await`: the stream's async iterator costs several allocations and an
// error object per request (it destroys the stream at the end), a measurable part of a POST.
function readIncoming(incoming: IncomingMessage, maxSize: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const onData = (chunk: Uint8Array) => {
      size += chunk.length;
      if (size <= maxSize) return void chunks.push(chunk);
      incoming.off('data', onData);
      incoming.resume(); // drain the rest so the connection stays usable
      reject(tooLarge(maxSize));
    };
    // The client went away mid-body: its problem, not ours (and nobody is left to answer).
    // 'close' also follows every 'end': the error is made only when it comes first.
    let ended = false;
    const aborted = () => {
      if (!ended) reject(new LogError('bad_request', 'the client aborted the request body'));
    };
    incoming.on('data', onData);
    incoming.once('end', () => {
      ended = true;
      resolve(chunks);
    });
    incoming.once('error', aborted);
    incoming.once('close', aborted);
  });
}
