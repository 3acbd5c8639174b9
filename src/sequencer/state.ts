/**
 * Loading the committed state of a log: the lock (the last committed signed checkpoint) and the
 * right edge of the tree it commits to. The same load runs at start-up and after any commit whose
 * outcome is unknown, so there is one recovery path and it is exercised all the time.
 */
import { decodeUtf8, equal, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { type Checkpoint, type NoteVerifier, openNote, parseCheckpoint } from '../note/index.ts';
import { CHECKPOINT_KEY, type LogStore } from '../storage/index.ts';
import { type Edge, loadEdge, TileSource } from '../tiles/index.ts';

/** LogState is a committed log: its lock bytes, signed checkpoint, and right edge. */
export interface LogState {
  readonly lock: Uint8Array;
  readonly note: string;
  readonly checkpoint: Checkpoint;
  readonly edge: Edge;
}

function corrupt(message: string): LogError {
  return new LogError('corrupt', `sequencer: ${message}`);
}

/**
 * openLock verifies the lock as a checkpoint signed by the log's own key for the log's origin;
 * anything else means the store belongs to another log or was tampered with.
 */
export function openLock(
  lock: Uint8Array,
  verifier: NoteVerifier,
  origin: string,
): { note: string; checkpoint: Checkpoint } {
  const note = decodeUtf8(lock);
  if (note === null) throw corrupt('lock is not UTF-8');
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(openNote(note, [verifier]).text);
  } catch (cause) {
    throw new LogError('corrupt', 'sequencer: lock is not a checkpoint signed by this log key', {
      cause,
    });
  }
  if (checkpoint.origin !== origin) {
    throw corrupt(
      `store holds origin ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(origin)}`,
    );
  }
  return { note, checkpoint };
}

/**
 * loadState reads the lock and the partial tiles of its right edge in one batch, and checks that
 * they hash to the checkpoint's root. It returns null for a store that has never committed.
 */
export async function loadState(
  store: LogStore,
  verifier: NoteVerifier,
  origin: string,
): Promise<LogState | null> {
  // Another writer may commit (and prune the partial tiles we are reading) while we load: if a
  // tile is missing but the lock has moved on, load the newer state instead.
  for (let attempt = 0; ; attempt++) {
    const lock = await store.readLock();
    if (lock === null) return null;
    try {
      return await loadStateAt(store, lock, verifier, origin);
    } catch (err) {
      const after = await store.readLock();
      if (attempt >= 5 || after === null || equal(after, lock)) throw err;
    }
  }
}

/**
 * loadStateAt loads the state of a given signed checkpoint (a lock, or a published checkpoint,
 * whose tiles are all stored): its right edge, checked against its root.
 */
export async function loadStateAt(
  store: LogStore,
  lock: Uint8Array,
  verifier: NoteVerifier,
  origin: string,
): Promise<LogState> {
  const { note, checkpoint } = openLock(lock, verifier, origin);
  const size = checkpoint.size;
  // The partial tiles of this very size, read once (no cache: the edge is kept as the state).
  const tiles = new TileSource({
    fetch: (p) => store.getMany(p),
    size: () => size,
    capacityBytes: 0,
  });
  const edge = await loadEdge((t) => tiles.read(t), size, checkpoint.root, true);
  return { lock, note, checkpoint, edge };
}

/** Published is a checkpoint as clients see it: the note (with cosignatures) and its body. */
export interface Published {
  readonly note: string;
  readonly checkpoint: Checkpoint;
}

/**
 * loadPublished reads the published `checkpoint` object: a checkpoint signed by the log for its
 * origin, no larger than the integrated state (the publisher writes it under the lock's
 * compare-and-swap, after the tree it covers). Its root is checked against the tiles by the
 * caller, which can read them. A store written before publication was separate holds the lock's
 * own note there, which passes the same checks.
 */
export async function loadPublished(
  store: LogStore,
  verifier: NoteVerifier,
  integrated: LogState,
  read?: Uint8Array | null,
): Promise<Published> {
  // `read` is the object when the caller read it before the integrated state (see loadBoth).
  const bytes = read !== undefined ? read : await store.get(CHECKPOINT_KEY);
  const note = bytes ? decodeUtf8(bytes) : null;
  if (note === null) throw corrupt('the published checkpoint is missing or not UTF-8');
  const { checkpoint } = openLock(utf8(note), verifier, integrated.checkpoint.origin);
  if (checkpoint.size > integrated.checkpoint.size)
    throw corrupt(`published checkpoint ${checkpoint.size} is ahead of the integrated tree`);
  return { note, checkpoint };
}

/** lockBytes returns the bytes stored as the lock for a signed checkpoint note. */
export function lockBytes(note: string): Uint8Array {
  return utf8(note);
}

/**
 * loadBoth reads the published checkpoint and then the integrated state. The sequencer may
 * integrate and publish between the two reads, but it publishes only what it integrated first
 * and the lock only grows, so the state read second is never behind the checkpoint read first.
 */
export async function loadBoth(
  store: LogStore,
  verifier: NoteVerifier,
  origin: string,
): Promise<{ state: LogState; published: Published }> {
  for (let attempt = 0; ; attempt++) {
    const read = await store.get(CHECKPOINT_KEY);
    const state = await loadState(store, verifier, origin);
    if (!state) throw new LogError('unavailable', 'sequencer: the log has no lock (yet)');
    try {
      return { state, published: await loadPublished(store, verifier, state, read) };
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}
