/**
 * fsck: verify a whole store against its lock. It reads every entry bundle in order, rebuilds
 * every hash tile from the entries with the same edge code the sequencer uses (O(log n) memory,
 * streaming), compares each tile with the stored one byte for byte, and checks that the result
 * hashes to the signed checkpoint's root. Progress is reported as entries done of the total.
 */
import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { NoteVerifier } from '../note/index.ts';
import type { LogStore } from '../storage/index.ts';
import { edgeRoot, EMPTY_EDGE, ENTRIES, TILE_WIDTH } from '../tiles/index.ts';
import { rebuild } from './rebuild.ts';
import { openLock } from './state.ts';

/** FsckReport summarizes a successful check. */
export interface FsckReport {
  readonly origin: string;
  readonly size: number;
  readonly bundles: number;
  readonly tiles: number;
}

/** fsck verifies store completely, or throws a corrupt LogError naming the first bad object. */
export async function fsck(
  store: LogStore,
  verifier: NoteVerifier,
  origin: string,
  progress: (done: number, total: number) => void = () => {},
): Promise<FsckReport> {
  const lock = await store.readLock();
  if (!lock) throw new LogError('not_found', 'fsck: the store holds no log');
  const { checkpoint } = openLock(lock, verifier, origin);
  const size = checkpoint.size;
  let edge = EMPTY_EDGE;
  let tiles = 0;
  try {
    for await (const chunk of rebuild(store, size)) {
      edge = chunk.edge;
      tiles += chunk.final.filter((w) => w.tile.level !== ENTRIES).length;
      progress(edge.size, size);
    }
  } catch (err) {
    throw err instanceof LogError ? new LogError(err.code, `fsck: ${err.message}`) : err;
  }
  const bundleCount = Math.ceil(size / TILE_WIDTH);
  if (!equal(edgeRoot(edge), checkpoint.root))
    throw new LogError(
      'corrupt',
      `fsck: the entries do not hash to the root of checkpoint ${size}`,
    );
  return { origin: checkpoint.origin, size, bundles: bundleCount, tiles };
}
