/**
 * Entry bundles (tlog-tiles "Log Entries"): each entry is a big-endian uint16 length followed by
 * that many bytes, so an entry holds at most 65,535 bytes.
 */
import { badRequest, LogError } from '../errors.ts';
import { ENTRIES, type Tile, TILE_WIDTH, tilePath } from './tile.ts';

/** MAX_ENTRY_SIZE is the largest entry an entry bundle can hold. */
export const MAX_ENTRY_SIZE = 0xffff;

/** checkEntry throws a too_large LogError for an entry that no bundle can hold, or an empty one. */
export function checkEntry(entry: Uint8Array): void {
  if (entry.length > MAX_ENTRY_SIZE) {
    throw new LogError('too_large', `tiles: entry of ${entry.length} bytes is over 65535`);
  }
}

/** encodeBundle concatenates length-prefixed entries into an entry bundle. */
export function encodeBundle(entries: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const e of entries) {
    checkEntry(e);
    n += 2 + e.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const e of entries) off = putEntry(out, off, e);
  return out;
}

/** putEntry writes e with its uint16 length at off in a bundle being built, and returns the end. */
export function putEntry(out: Uint8Array, off: number, e: Uint8Array): number {
  out[off] = e.length >>> 8;
  out[off + 1] = e.length & 255;
  out.set(e, off + 2);
  return off + 2 + e.length;
}

/**
 * decodeBundle splits an entry bundle into its entries. It throws a bad_request LogError for a
 * truncated bundle, trailing bytes, more than 256 entries, or a count other than width (if given).
 */
export function decodeBundle(data: Uint8Array, width?: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < data.length) {
    if (off + 2 > data.length) throw badRequest('tiles: entry bundle ends inside a length');
    const len = (data[off]! << 8) | data[off + 1]!;
    if (off + 2 + len > data.length) throw badRequest('tiles: entry bundle ends inside an entry');
    out.push(data.subarray(off + 2, off + 2 + len));
    off += 2 + len;
    if (out.length > TILE_WIDTH) throw badRequest('tiles: entry bundle has over 256 entries');
  }
  if (width !== undefined && out.length !== width) {
    throw badRequest(`tiles: entry bundle has ${out.length} entries, want ${width}`);
  }
  return out;
}

/**
 * narrowTile cuts a stored tile or bundle of tile t down to its first width hashes or entries:
 * tiles only grow at their end, so the tile of an older tree size is a prefix of the current one
 * (tlog-tiles: clients fall back to the full tile when a partial one is gone). Data of the wrong
 * length is a corrupt LogError.
 */
export function narrowTile(t: Tile, data: Uint8Array, width: number): Uint8Array {
  if (t.level === ENTRIES) {
    const entries = decodeBundle(data, t.width);
    let end = 0;
    for (const e of entries.slice(0, width)) end += 2 + e.length;
    return data.subarray(0, end);
  }
  if (data.length !== t.width * 32)
    throw new LogError('corrupt', `tiles: ${tilePath(t)} is ${data.length} bytes`);
  return data.subarray(0, width * 32);
}
