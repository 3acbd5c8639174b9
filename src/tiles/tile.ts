/**
 * C2SP tlog-tiles coordinates and paths (tlog-tiles, HEAD 5ba5ee8, "Merkle Tree" and "Log Entries"):
 * `tile/<L>/<N>[.p/<W>]` for hash tiles and `tile/entries/<N>[.p/<W>]` for entry bundles.
 */
import { badRequest } from '../errors.ts';

/** TILE_WIDTH is the number of hashes in a full tile and of entries in a full bundle. */
export const TILE_WIDTH = 256;

/** ENTRIES is the level used for entry bundles, which sit beside level 0 hash tiles. */
export const ENTRIES = -1;

/** MAX_LEVEL is the highest tile level a path may name (tlog-tiles: 0 to 63). */
export const MAX_LEVEL = 63;

/**
 * Tile names a hash tile (level 0 to 63) or an entry bundle (level ENTRIES): the n-th tile of
 * its level, holding width hashes or entries (1 to 255 for a partial tile, 256 for a full one).
 */
export interface Tile {
  readonly level: number;
  readonly n: number;
  readonly width: number;
}

/** formatIndex encodes N as 3-digit groups, all but the last prefixed with x: 1234067 → x001/x234/067. */
export function formatIndex(n: number): string {
  // Built as one string, with no array per call: it runs for every tile read (the round trip in
  // parseTilePath) and every tile written.
  if (n < 1000) return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
  let s = String(n);
  s = s.padStart(Math.ceil(s.length / 3) * 3, '0');
  let out = '';
  for (let i = 0; i < s.length - 3; i += 3) out += `x${s.slice(i, i + 3)}/`;
  return out + s.slice(s.length - 3);
}

/** tilePath returns the tlog-tiles path of a tile, relative to the log prefix. */
export function tilePath(t: Tile): string {
  const level = t.level === ENTRIES ? 'entries' : String(t.level);
  const partial = t.width < TILE_WIDTH ? `.p/${t.width}` : '';
  return `tile/${level}/${formatIndex(t.n)}${partial}`;
}

const PATH_RE =
  /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * parseTilePath parses a tlog-tiles path strictly: anything that tilePath would not produce
 * (leading zeros, missing x, width 0 or over 255, level over 63) is a bad_request LogError.
 * Indexes are limited to safe integers, far beyond any tree this log can hold.
 */
export function parseTilePath(path: string): Tile {
  const m = PATH_RE.exec(path);
  if (!m) throw badRequest(`tiles: malformed tile path ${JSON.stringify(path.slice(0, 80))}`);
  const level = m[1] === 'entries' ? ENTRIES : Number(m[1]);
  if (level > MAX_LEVEL) throw badRequest(`tiles: tile level ${level} is over ${MAX_LEVEL}`);
  const groups = m[2]!;
  const n = groups.length === 3 ? Number(groups) : Number(groups.replace(/[x/]/g, ''));
  if (!Number.isSafeInteger(n)) throw badRequest('tiles: tile index is out of range');
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (m[3] !== undefined && width >= TILE_WIDTH)
    throw badRequest(`tiles: partial width ${width} is over 255`);
  const t = { level, n, width };
  // Round trip: rejects non-canonical index encodings such as x000/001 for 1.
  if (tilePath(t) !== path) throw badRequest(`tiles: non-canonical tile path`);
  return t;
}

/**
 * tileWidth returns how many hashes (or entries) the tile (level, n) holds in a tree of size
 * leaves: 256 when full, 1 to 255 when partial, 0 when it does not exist yet. For entry bundles
 * pass level ENTRIES, which counts like level 0.
 */
export function tileWidth(level: number, n: number, size: number): number {
  const count = Math.floor(size / TILE_WIDTH ** Math.max(level, 0));
  return Math.max(0, Math.min(TILE_WIDTH, count - n * TILE_WIDTH));
}

/** tileAt returns the tile (level, n) as it is in a tree of size leaves, or null if it is empty. */
export function tileAt(level: number, n: number, size: number): Tile | null {
  const width = tileWidth(level, n, size);
  return width === 0 ? null : { level, n, width };
}

/** bundleForIndex returns the entry bundle holding leaf index in a tree of size leaves. */
export function bundleForIndex(index: number, size: number): Tile {
  const t = tileAt(ENTRIES, Math.floor(index / TILE_WIDTH), size);
  if (!t || index >= size) throw badRequest(`tiles: index ${index} is not below size ${size}`);
  return t;
}
