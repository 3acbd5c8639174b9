/**
 * A log's personality decides its one write route: a Rekor v2 log (the default) takes only
 * validated CreateEntryRequests at POST log/entries; a generic tile log takes raw bytes at POST
 * add. It is fixed for the life of the log and recorded in its store beside the tiles, so a later
 * `serve` cannot open a Rekor log with the raw write path (Rekor v2 §6.1.3: the service must
 * validate the signing event before logging it).
 *
 * The record is the object `personality` holding the name and a newline. It is written by a
 * commit that keeps the lock (the LogStore compare-and-swap), right after the log is created.
 * A log found without a record is one of two things:
 * - an empty tree: nothing was ever written, so choosing now is the same as choosing at creation
 *   (this also covers a crash between creating the log and recording its personality);
 * - a non-empty tree created before personalities existed: it takes the one named on the command
 *   line, else 'rekor' (the default, and the safe choice), and records it. Such a log may hold
 *   entries written through POST add; naming `generic` keeps it as it was used.
 */
import { decodeUtf8, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { LogStore } from '../storage/index.ts';

/** Personality names a log's write API: 'rekor' (POST log/entries) or 'generic' (POST add). */
export type Personality = 'rekor' | 'generic';

/** PERSONALITIES lists the personalities, the default first. */
export const PERSONALITIES: readonly Personality[] = ['rekor', 'generic'];

/** PERSONALITY_KEY is the store key of a log's personality record. */
export const PERSONALITY_KEY = 'personality';

/** parsePersonality returns the personality named s, or throws bad_request naming the choices. */
export function parsePersonality(s: string): Personality {
  const p = PERSONALITIES.find((x) => x === s);
  if (!p) {
    throw new LogError(
      'bad_request',
      `unknown personality ${JSON.stringify(s.slice(0, 40))} (want ${PERSONALITIES.join(' or ')})`,
    );
  }
  return p;
}

/** encodePersonality formats a personality record: its name and a newline. */
export function encodePersonality(p: Personality): Uint8Array {
  return utf8(p + '\n');
}

/** decodePersonality parses a stored record strictly; anything else is corrupt data. */
export function decodePersonality(b: Uint8Array): Personality {
  const text = decodeUtf8(b);
  const p = PERSONALITIES.find((x) => text === x + '\n');
  if (!p) throw new LogError('corrupt', 'personality: the stored record is not rekor or generic');
  return p;
}

/** settlePersonality's view of the opened log: its committed (integrated) lock and tree size. */
export interface OpenedLog {
  readonly integrated: {
    readonly lock: Uint8Array;
    readonly checkpoint: { readonly size: number };
  };
}

/**
 * settlePersonality returns the personality of the log just opened in store, recording it first
 * when the store has none (see the module comment for which). When `requested` is given and the
 * log's recorded personality differs, it throws 'fatal' with a one-line reason and writes
 * nothing. Idempotent. Two servers opening a new shared (S3) log at the same moment must name
 * the same personality: the record is not under the lock's compare-and-swap.
 */
export async function settlePersonality(
  store: LogStore,
  log: OpenedLog,
  requested?: Personality,
): Promise<Personality> {
  let stored = await store.get(PERSONALITY_KEY);
  if (!stored) {
    const chosen = requested ?? 'rekor';
    try {
      const lock = log.integrated.lock;
      await store.commit({
        expected: lock,
        next: lock,
        objects: [{ key: PERSONALITY_KEY, value: encodePersonality(chosen) }],
      });
    } catch (err) {
      // Another writer moved the lock (it committed entries): read what it recorded, if anything.
      if (!(err instanceof LogError && err.code === 'conflict')) throw err;
    }
    stored = await store.get(PERSONALITY_KEY);
    if (!stored) throw new LogError('unavailable', 'personality: could not record it, retry');
  }
  const recorded = decodePersonality(stored);
  if (requested !== undefined && requested !== recorded) {
    throw new LogError(
      'fatal',
      `this log's personality is ${recorded}, fixed when it was created; ` +
        `it cannot be served as ${requested}`,
    );
  }
  return recorded;
}
