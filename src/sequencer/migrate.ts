/**
 * migrate: copy a log from one store to another (LevelDB ↔ S3), verifying as it goes and
 * resumable. Every entry bundle is read from the source, every tile is rebuilt from the entries
 * and compared with the source's, and only verified bytes are written. Until the copy is complete
 * the destination's lock is a migration marker (never a checkpoint, so no log can be opened on
 * it half-copied); after each chunk the marker records how far the copy got, and a new run picks
 * up there. The last commit installs the source's signed checkpoint as the lock.
 */
import { decodeUtf8, equal, toHex, u64be, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { checkConsistency } from '../merkle/index.ts';
import type { NoteVerifier } from '../note/index.ts';
import { CHECKPOINT_KEY, indexKey, type LogStore, type StoredObject } from '../storage/index.ts';
import { edgeRoot, proveConsistency, TILE_WIDTH, TileSource } from '../tiles/index.ts';
import { rebuild } from './rebuild.ts';
import { openLock } from './state.ts';

const MARKER = 'tilelog migration in progress: ';

function marker(done: number, lock: Uint8Array): Uint8Array {
  return utf8(`${MARKER}${done} of ${toHex(lock)}\n`);
}

// How far an interrupted migration of this source lock got, or 0 to start. A destination that
// holds an older checkpoint of the same log (a mirror being brought up to date) resumes at its
// size: the walk re-verifies everything below it against the new checkpoint anyway.
function resumeFrom(
  destLock: Uint8Array | null,
  sourceLock: Uint8Array,
  verifier: NoteVerifier,
  origin: string,
  size: number,
): number | 'done' {
  if (destLock === null) return 0;
  if (equal(destLock, sourceLock)) return 'done';
  const m = new RegExp(`^${MARKER}(\\d+) of ([0-9a-f]+)\\n$`).exec(decodeUtf8(destLock) ?? '');
  if (!m) {
    let older: number;
    try {
      older = openLock(destLock, verifier, origin).checkpoint.size;
    } catch {
      throw new LogError('conflict', 'migrate: the destination already holds a log');
    }
    if (older > size)
      throw new LogError(
        'corrupt',
        `migrate: the destination is ahead of the source (${older} > ${size}): split view?`,
      );
    return Math.floor(older / TILE_WIDTH) * TILE_WIDTH; // a partial bundle is rewritten whole
  }
  if (m[2] !== toHex(sourceLock))
    throw new LogError(
      'conflict',
      'migrate: the destination holds a migration of another checkpoint',
    );
  return Number(m[1]);
}

/** migrate copies the log in from to to, and returns the number of entries copied in this run. */
export async function migrate(
  from: LogStore,
  to: LogStore,
  verifier: NoteVerifier,
  origin: string,
  progress: (done: number, total: number) => void = () => {},
): Promise<number> {
  const sourceLock = await from.readLock();
  if (!sourceLock) throw new LogError('not_found', 'migrate: the source holds no log');
  const { checkpoint } = openLock(sourceLock, verifier, origin);
  const size = checkpoint.size;
  let destLock = await to.readLock();
  const start = resumeFrom(destLock, sourceLock, verifier, origin, size);
  if (start === 'done') return 0;
  if (destLock && !decodeUtf8(destLock)?.startsWith(MARKER)) {
    // An older checkpoint in the destination must be one the source's tree extends.
    const older = openLock(destLock, verifier, origin).checkpoint;
    const source = new TileSource({ fetch: (p) => from.getMany(p), size: () => size });
    try {
      checkConsistency(
        older.size,
        size,
        older.root,
        checkpoint.root,
        await proveConsistency(source.fetchHashes, older.size, size),
      );
    } catch (err) {
      throw new LogError(
        'corrupt',
        `migrate: the destination's checkpoint ${older.size} is not consistent with the source's ${size}: ${err instanceof Error ? err.message : err}`,
      );
    }
  }
  for await (const chunk of rebuild(from, size)) {
    const { edge, before, hashes, final } = chunk;
    if (edge.size <= start) continue; // copied by an earlier run; rebuilt only to verify
    const objects: StoredObject[] = final.map((w) => ({ key: w.path, value: w.data }));
    hashes.forEach((h, i) => objects.push({ key: indexKey(toHex(h)), value: u64be(before + i) }));
    const last = edge.size === size;
    if (last) {
      if (!equal(edgeRoot(edge), checkpoint.root))
        throw new LogError('corrupt', 'migrate: the source entries do not hash to its checkpoint');
      objects.push({ key: CHECKPOINT_KEY, value: sourceLock });
    }
    const next = last ? sourceLock : marker(edge.size, sourceLock);
    await to.commit({ expected: destLock, next, objects });
    destLock = next;
    progress(edge.size, size);
  }
  if (size === 0)
    await to.commit({
      expected: destLock,
      next: sourceLock,
      objects: [{ key: CHECKPOINT_KEY, value: sourceLock }],
    });
  return size - start;
}
