/**
 * fsck: verify a whole store against its lock. It reads every entry bundle in order, rebuilds
 * every hash tile from the entries with the same edge code the sequencer uses (O(log n) memory,
 * streaming), compares each tile with the stored one byte for byte, and checks that the result
 * hashes to the signed checkpoint's root. Progress is reported as entries done of the total.
 */
import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { leafHash } from '../merkle/index.ts';
import type { NoteVerifier } from '../note/index.ts';
import type { LogStore } from '../storage/index.ts';
import { EMPTY_EDGE, ENTRIES, TILE_WIDTH, appendToEdge, decodeBundle, edgeRoot, tileAt, tilePath } from '../tiles/index.ts';
import { openLock } from './state.ts';

/** FsckReport summarizes a successful check. */
export interface FsckReport {
  readonly origin: string;
  readonly size: number;
  readonly bundles: number;
  readonly tiles: number;
}

const CHUNK = 64; // bundles read and rebuilt per step

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
  const bundleCount = Math.ceil(size / TILE_WIDTH);
  let edge = EMPTY_EDGE;
  let tiles = 0;
  for (let first = 0; first < bundleCount; first += CHUNK) {
    const wanted = [];
    for (let n = first; n < Math.min(bundleCount, first + CHUNK); n++) wanted.push(tileAt(ENTRIES, n, size)!);
    const data = await store.getMany(wanted.map(tilePath));
    const entries: Uint8Array[] = [];
    wanted.forEach((t, i) => {
      const d = data[i];
      if (!d) throw new LogError('corrupt', `fsck: ${tilePath(t)} is missing`);
      entries.push(...decodeBundle(d, t.width));
    });
    const r = appendToEdge(edge, entries, entries.map(leafHash));
    edge = r.edge;
    // Full tiles and the final partial tiles must be stored exactly as rebuilt.
    const check = r.writes.filter((w) => w.tile.level !== ENTRIES && tileAt(w.tile.level, w.tile.n, size)?.width === w.tile.width);
    const stored = await store.getMany(check.map((w) => w.path));
    check.forEach((w, i) => {
      if (!stored[i] || !equal(stored[i]!, w.data)) throw new LogError('corrupt', `fsck: ${w.path} does not match the entries`);
    });
    tiles += check.length;
    progress(edge.size, size);
  }
  if (!equal(edgeRoot(edge), checkpoint.root)) throw new LogError('corrupt', `fsck: the entries do not hash to the root of checkpoint ${size}`);
  return { origin: checkpoint.origin, size, bundles: bundleCount, tiles };
}
