/**
 * The one error type. Untrusted input gets a typed LogError (mapped to 4xx by api/errors.ts),
 * operational failures are wrapped and classified (retry, 503), and our own bugs fail assert().
 */

/** LogErrorCode is the closed set of error classes; api/errors.ts maps each to an HTTP status. */
export type LogErrorCode =
  | 'bad_request' // malformed input from a client
  | 'not_found' // the thing asked for does not exist (yet)
  | 'too_large' // an entry or body over its limit
  | 'conflict' // a compare-and-swap lost: someone else advanced the log
  | 'pushback' // too much pending work; retry later
  | 'unavailable' // storage or a dependency failed transiently; retry later
  | 'frozen' // the log is read-only
  | 'corrupt' // stored data failed verification: stop publishing rather than fork
  | 'fatal'; // a configuration or permission problem that retrying will not fix

/** LogError carries a code from the closed union, a one-line message and an optional cause. */
export class LogError extends Error {
  readonly code: LogErrorCode;
  constructor(code: LogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogError';
    this.code = code;
  }
}

/** badRequest is shorthand for a LogError with code bad_request. */
export function badRequest(message: string): LogError {
  return new LogError('bad_request', message);
}

/** assert throws when an internal invariant is broken: that is a bug in tilelog, never bad input. */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}
