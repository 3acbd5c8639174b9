/**
 * The one table from LogError codes to HTTP statuses, and the error handler that applies it.
 * Every error answer is a single line of text/plain saying what was wrong.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';

import { LogError, type LogErrorCode } from '../errors.ts';
import { GRPC_CODE } from './rekor.ts';

/** STATUS maps each error code to its HTTP status. */
export const STATUS: Record<LogErrorCode, 400 | 404 | 405 | 409 | 413 | 500 | 503> = {
  bad_request: 400,
  not_found: 404,
  too_large: 413,
  conflict: 503, // lost a race with another writer: the client may simply retry
  pushback: 503,
  unavailable: 503,
  frozen: 405,
  corrupt: 500, // our stored data failed verification: our fault, never the client's
  fatal: 500, // misconfigured storage (no bucket, no permission): the operator must act
};

/** RETRY_AFTER_SECONDS is sent with every 503. */
export const RETRY_AFTER_SECONDS = 1;

/** errorResponse formats err as a one-line text/plain answer with the status from STATUS. */
export function errorResponse(c: Context, err: unknown): Response {
  if (err instanceof HTTPException) {
    return c.text(oneLine(err.message || 'request refused') + '\n', err.status);
  }
  if (err instanceof LogError) {
    const status = STATUS[err.code];
    if (status === 503) c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    if (status === 500 || err.code === 'unavailable') logServerError(err);
    // The Rekor write API answers as grpc-gateway does: a JSON status object; except a frozen
    // log, which rekor-tiles answers with a plain-text 405.
    if (c.req.path.endsWith('/log/entries') && err.code !== 'frozen') {
      return c.json(
        { code: GRPC_CODE[err.code], message: oneLine(err.message), details: [] },
        status,
      );
    }
    return c.text(oneLine(err.message) + '\n', status);
  }
  logServerError(err);
  return c.text('internal error\n', 500);
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 500);
}

/** ErrorLogger receives server-side errors (main.ts points it at the structured logger). */
export let logServerError: (err: unknown) => void = (err) => {
  console.error('tilelog:', err instanceof Error ? (err.stack ?? err.message) : err);
};

/** setErrorLogger replaces where server-side errors are logged. */
export function setErrorLogger(f: (err: unknown) => void): void {
  logServerError = f;
}
