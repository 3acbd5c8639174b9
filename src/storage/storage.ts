/**
 * The storage contract. Every driver (memory, LevelDB, and S3 later) implements LogStore and
 * passes the one contract suite in test/storage/contract.ts. The sequencer relies on exactly
 * these promises and nothing else:
 *
 * - Keys are tlog-tiles paths (`checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`)
 *   plus `index/<hex leaf hash>` for the dedup index. Values are opaque bytes.
 * - The lock is the committed tree state: the signed checkpoint the log last committed. It is
 *   the single source of truth; the published `checkpoint` object may briefly lag it on drivers
 *   that cannot write everything atomically, never lead it.
 * - Durability: once commit() resolves, the lock and every object in it survive a crash (kill -9
 *   or power loss, to the extent the medium honours fsync).
 * - Atomicity: commit() applies all of its objects and the new lock, or none of them as far as any
 *   later reader can tell. A driver without multi-key transactions (S3) meets this by staging the
 *   objects durably before swapping the lock, and by finishing any staged commit in open() and
 *   before readLock() returns, so readers never see a lock whose objects are missing.
 * - Compare-and-swap: commit() succeeds only if the lock still equals `expected` byte for byte
 *   (null: no lock yet). Otherwise it throws LogError 'conflict' and changes nothing. Of two racing
 *   commits from the same expected lock, at most one succeeds.
 * - Order: commits are applied in the order they are called, so a caller may issue a commit that
 *   expects the lock of an earlier one before that one has resolved (pipelining); if the earlier
 *   one fails, the later one fails with 'conflict'.
 * - Failure: any other error is a LogError 'unavailable'; the commit may or may not have been
 *   applied, and the caller must re-read the lock before trusting its own state.
 * - Idempotence: objects are content-addressed by path (a path's bytes never change except for
 *   `checkpoint`), so writing an object again with the same bytes is harmless; deleting a missing
 *   key is not an error.
 * - Not found: get() returns null for a missing key; it never throws for absence.
 * - Read-after-write: a get() that starts after commit() resolved sees that commit.
 */

/** StoredObject is one write of a commit; a null value deletes the key. */
export interface StoredObject {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** Commit is an atomic compare-and-swap of the lock together with a set of object writes. */
export interface Commit {
  readonly expected: Uint8Array | null;
  readonly next: Uint8Array;
  readonly objects: readonly StoredObject[];
}

/** LogStore is where a log's bytes live; see the contract above. */
export interface LogStore {
  /** get returns the object at key, or null when there is none. */
  get(key: string): Promise<Uint8Array | null>;
  /** getMany returns get() for each key, in order, in one round trip where the driver can. */
  getMany(keys: readonly string[]): Promise<(Uint8Array | null)[]>;
  /** readLock returns the committed lock, or null for a log that has never committed. */
  readLock(): Promise<Uint8Array | null>;
  /** commit atomically swaps the lock from expected to next and applies objects. */
  commit(c: Commit): Promise<void>;
  /**
   * indexUpTo, on a store that keeps the dedup index apart from the log (IndexedStore), completes
   * it below size without reading the lock. Every tile below size must be stored, as it is for a
   * published checkpoint's size; it throws 'unavailable' when one is not readable.
   */
  indexUpTo?(size: number): Promise<void>;
  /** close releases the store; it is not used afterwards. */
  close(): Promise<void>;
}

/** indexKey returns the dedup-index key of a leaf hash given in hex. */
export function indexKey(leafHashHex: string): string {
  return `index/${leafHashHex}`;
}

/** CHECKPOINT_KEY is the key of the published checkpoint. */
export const CHECKPOINT_KEY = 'checkpoint';

/** Versioned is an object's bytes with the version a conditional write must name. */
export interface Versioned {
  readonly bytes: Uint8Array;
  readonly version: string;
}

/**
 * VersionedObjects are single objects beside a log, written only by compare-and-swap and never
 * part of a commit (the sequencer lease). Contract:
 * - putIfVersion writes key only if its current version is `version` (null: only if key is
 *   absent) and returns the new version. Of two racing writers naming the same version, at most
 *   one succeeds; the other gets LogError 'conflict' and nothing is written.
 * - Any other failure is 'unavailable' (or 'fatal' for a misconfiguration): the write may or may
 *   not have happened, and the caller must read the object again before trusting its version.
 * - getVersioned returns null for a missing key; a get that starts after a put resolved sees it.
 */
export interface VersionedObjects {
  /** getVersioned returns the object at key with its version, or null when there is none. */
  getVersioned(key: string): Promise<Versioned | null>;
  /** versionOf returns the version of the object at key without reading it, or null. */
  versionOf(key: string): Promise<string | null>;
  /** putIfVersion writes key if its version is still `version` (null: absent); see above. */
  putIfVersion(key: string, value: Uint8Array, version: string | null): Promise<string>;
}
