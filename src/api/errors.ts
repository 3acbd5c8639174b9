/**
 * The one place statuses are decided: LogError codes to HTTP statuses and to gRPC codes, witness
 * outcomes to HTTP statuses, and the error handler that applies them. Every error answer is a
 * single line saying what was wrong; no status is ever chosen from a message's text.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';

import { LogError, type LogErrorCode } from '../errors.ts';
import type { MirrorOutcome } from '../mirror/index.ts';
import type { WitnessOutcome } from '../witness/index.ts';

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

/**
 * GRPC_CODE maps each error code to the gRPC status code (google.rpc.Code) that grpc-gateway puts
 * in error bodies, as rekor-tiles answers.
 */
export const GRPC_CODE: Record<LogErrorCode, number> = {
  bad_request: 3, // INVALID_ARGUMENT
  not_found: 5, // NOT_FOUND
  conflict: 10, // ABORTED
  too_large: 3, // INVALID_ARGUMENT
  pushback: 14, // UNAVAILABLE
  unavailable: 14, // UNAVAILABLE
  frozen: 12, // UNIMPLEMENTED: rekor-tiles' CreateEntry on a frozen (read-only) log
  corrupt: 13, // INTERNAL
  fatal: 13, // INTERNAL
};

/** WITNESS_STATUS maps each add-checkpoint outcome to its status (tlog-witness, "add-checkpoint"). */
export const WITNESS_STATUS: Record<WitnessOutcome, 200 | 400 | 403 | 404 | 409 | 422> = {
  cosigned: 200,
  malformed: 400,
  unknown_log: 404,
  untrusted: 403,
  conflict: 409,
  inconsistent: 422,
};

/** MIRROR_STATUS maps each mirror outcome to its status (tlog-mirror, "add-entries"). */
export const MIRROR_STATUS: Record<MirrorOutcome, 200 | 202 | 400 | 403 | 404 | 409 | 415 | 422> = {
  ...WITNESS_STATUS,
  accepted: 202,
  unsupported: 415,
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
