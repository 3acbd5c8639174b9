/**
 * The messages between the admission pool (pool.ts) and its workers (worker.ts). A batch of
 * request bodies travels as one buffer with end offsets, and its answers as one buffer of
 * canonical bodies, both transferred rather than copied: one message per batch, not per entry.
 */
import type { LogErrorCode } from '../errors.ts';

/** Packed is a list of byte strings laid end to end in one buffer. */
export interface Packed {
  readonly data: Uint8Array;
  /** ends[i] is where item i ends in data; it starts where item i - 1 ends (or at 0). */
  readonly ends: readonly number[];
}

/** Job is a batch of CreateEntryRequest bodies (protojson bytes) for a worker to admit. */
export interface Job extends Packed {
  readonly id: number;
}

/**
 * Verdict is one request's outcome: admitted (its body is the matching item of the answer's
 * bodies), refused with a LogError's code and message, or a bug (an unexpected exception).
 */
export type Verdict =
  | { readonly kind: string; readonly version: string }
  | { readonly code: LogErrorCode; readonly message: string }
  | { readonly bug: string };

/** Answer is a worker's reply to a Job: one verdict per request, bodies packed (empty if refused). */
export interface Answer {
  readonly id: number;
  readonly bodies: Packed;
  readonly verdicts: readonly Verdict[];
}

/** pack lays items end to end in one fresh buffer (safe to transfer). */
export function pack(items: readonly Uint8Array[]): Packed {
  let size = 0;
  const ends = items.map((b) => (size += b.length));
  const data = new Uint8Array(size);
  items.forEach((b, i) => data.set(b, ends[i]! - b.length));
  return { data, ends };
}

/** item returns item i of p, as a view into p.data. */
export function item(p: Packed, i: number): Uint8Array {
  const start = i === 0 ? 0 : p.ends[i - 1]!;
  return p.data.subarray(start, p.ends[i]!);
}
