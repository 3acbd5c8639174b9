/**
 * The wire formats of tlog-mirror (C2SP tlog-mirror, "add-entries"), pure and synchronous: the
 * request header (origin, upload_start, upload_end, ticket), the canonical sequence of entry
 * packages (aligned at multiples of 256) and each package (u16-prefixed entries, a one-byte
 * count and at most 63 subtree consistency proof hashes), and the `text/x.tlog.mirror-info`
 * answer. A body is streamed, so the parsers are generators that yield how many bytes they need
 * next and are handed exactly that many (fewer only at the end of the body): the same parser
 * runs over a whole buffer (parseAll) and over a request stream (src/mirror/stream.ts).
 */
import { concat, fromBase64, readU64be, toBase64, u16be, u64be } from '../bytes.ts';
import type { Hash } from '../merkle/index.ts';

/** MAX_PACKAGE_PROOF is the most proof hashes an entry package may carry (tlog-mirror). */
export const MAX_PACKAGE_PROOF = 63;

/** PACKAGE_WIDTH is the alignment of entry packages: one entry bundle each. */
export const PACKAGE_WIDTH = 256;

/** AddEntriesHeader is the fixed part of an add-entries body. */
export interface AddEntriesHeader {
  readonly origin: string;
  readonly start: number;
  readonly end: number;
  readonly ticket: Uint8Array;
}

/**
 * PackageRange is package i of the canonical sequence: it carries entries [start, end), and
 * its proof is of the subtree [base, end), base being start rounded down to a multiple of 256.
 */
export interface PackageRange {
  readonly base: number;
  readonly start: number;
  readonly end: number;
}

/** EntryPackage is a parsed package: its entries (for [start, end)) and its proof. */
export interface EntryPackage {
  readonly entries: Uint8Array[];
  readonly proof: Hash[];
}

/**
 * Parser is a parser that yields the number of bytes it wants next and receives them (fewer
 * when the body ended), and returns its value or the one-line reason the bytes are malformed.
 */
export type Parser<T> = Generator<number, T | string, Uint8Array>;

// The end of the body inside a field: the partial bytes are discarded (tlog-mirror).
const TRUNCATED = 'the body ends inside';

/** parseHeader parses the add-entries header. */
export function* parseHeader(): Parser<AddEntriesHeader> {
  const originLen = yield 2;
  if (originLen.length < 2) return `${TRUNCATED} the origin length`;
  const n = (originLen[0]! << 8) | originLen[1]!;
  if (n === 0) return 'the log origin is empty';
  const raw = yield n;
  if (raw.length < n) return `${TRUNCATED} the origin`;
  let origin: string;
  try {
    origin = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    return 'the log origin is not UTF-8';
  }
  const sizes = yield 16;
  if (sizes.length < 16) return `${TRUNCATED} upload_start and upload_end`;
  const start = readU64be(sizes, 0);
  const end = readU64be(sizes, 8);
  // Tree sizes here are safe integers (2^53): no log this engine mirrors can be larger.
  if (start === null || end === null) return 'upload_start or upload_end is above 2^53';
  if (start > end) return `upload_start ${start} is above upload_end ${end}`;
  const ticketLen = yield 2;
  if (ticketLen.length < 2) return `${TRUNCATED} the ticket length`;
  const t = (ticketLen[0]! << 8) | ticketLen[1]!;
  const ticket = t === 0 ? new Uint8Array(0) : yield t;
  if (ticket.length < t) return `${TRUNCATED} the ticket`;
  return { origin, start, end, ticket: ticket.slice() };
}

/** packageRanges lists the canonical sequence of packages for [start, end) (tlog-mirror). */
export function packageRanges(start: number, end: number): PackageRange[] {
  if (start >= end) return [];
  const roundedStart = Math.floor(start / PACKAGE_WIDTH) * PACKAGE_WIDTH;
  const roundedEnd = Math.ceil(end / PACKAGE_WIDTH) * PACKAGE_WIDTH;
  const out: PackageRange[] = [];
  for (let i = 0; i < (roundedEnd - roundedStart) / PACKAGE_WIDTH; i++) {
    const base = roundedStart + i * PACKAGE_WIDTH;
    out.push({ base, start: Math.max(start, base), end: Math.min(end, base + PACKAGE_WIDTH) });
  }
  return out;
}

/** parsePackage parses the package for range r. */
export function* parsePackage(r: PackageRange): Parser<EntryPackage> {
  const entries: Uint8Array[] = [];
  for (let i = r.start; i < r.end; i++) {
    const len = yield 2;
    if (len.length < 2) return `${TRUNCATED} the length of entry ${i}`;
    const n = (len[0]! << 8) | len[1]!;
    const entry = n === 0 ? new Uint8Array(0) : yield n;
    if (entry.length < n) return `${TRUNCATED} entry ${i}`;
    entries.push(entry);
  }
  const count = yield 1;
  if (count.length < 1) return `${TRUNCATED} the proof length of package [${r.start}, ${r.end})`;
  const k = count[0]!;
  if (k > MAX_PACKAGE_PROOF) return `a package proof of ${k} hashes is over ${MAX_PACKAGE_PROOF}`;
  const proof: Hash[] = [];
  if (k > 0) {
    const hashes = yield 32 * k;
    if (hashes.length < 32 * k) return `${TRUNCATED} the proof of package [${r.start}, ${r.end})`;
    for (let j = 0; j < k; j++) proof.push(hashes.slice(32 * j, 32 * (j + 1)));
  }
  return { entries, proof };
}

/**
 * parseAll runs parser over bytes from offset; it returns the value (or the reason) and the
 * offset after what the parser consumed.
 */
export function parseAll<T>(
  parser: Parser<T>,
  bytes: Uint8Array,
  offset = 0,
): { value: T | string; offset: number } {
  let off = offset;
  let step = parser.next();
  while (!step.done) {
    const want = step.value;
    const got = bytes.subarray(off, Math.min(bytes.length, off + want));
    off += got.length;
    step = parser.next(got);
  }
  return { value: step.value, offset: off };
}

/** formatHeader returns the bytes of an add-entries header. */
export function formatHeader(h: AddEntriesHeader): Uint8Array {
  const origin = new TextEncoder().encode(h.origin);
  return concat(
    u16be(origin.length),
    origin,
    u64be(h.start),
    u64be(h.end),
    u16be(h.ticket.length),
    h.ticket,
  );
}

/** formatPackage returns the bytes of an entry package. */
export function formatPackage(p: EntryPackage): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of p.entries) parts.push(u16be(e.length), e);
  parts.push(Uint8Array.of(p.proof.length), ...p.proof);
  return concat(...parts);
}

/** MirrorInfo is the body of a 409 or 202 answer to add-entries. */
export interface MirrorInfo {
  /** size is the tree size of a valid pending checkpoint. */
  readonly size: number;
  /** next is the mirror's next entry. */
  readonly next: number;
  readonly ticket: Uint8Array;
}

/** MIRROR_INFO_TYPE is the content type of a mirror-info body. */
export const MIRROR_INFO_TYPE = 'text/x.tlog.mirror-info';

/** formatMirrorInfo returns the three lines of a mirror-info body. */
export function formatMirrorInfo(m: MirrorInfo): string {
  return `${m.size}\n${m.next}\n${toBase64(m.ticket)}\n`;
}

/** parseMirrorInfo parses a mirror-info body strictly, or returns why it is malformed. */
export function parseMirrorInfo(text: string): MirrorInfo | string {
  const m = /^(0|[1-9][0-9]{0,15})\n(0|[1-9][0-9]{0,15})\n([A-Za-z0-9+/=]*)\n$/.exec(text);
  if (!m) return 'a mirror-info body is three lines: size, next entry, base64 ticket';
  const [size, next] = [Number(m[1]), Number(m[2])];
  const ticket = fromBase64(m[3]!);
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(next) || !ticket)
    return 'a mirror-info number is too large, or its ticket is not base64';
  return { size, next, ticket };
}
