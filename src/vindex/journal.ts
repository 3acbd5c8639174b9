/**
 * Bounded commits. One apply of the map can change hundreds of thousands of records (a chunk of
 * new keys rewrites their lists and every trie node above them); LevelDB holds a batch whole in
 * native memory and puts it whole into one memtable, so one batch of that size costs its size
 * several times over in the process's memory, and glibc keeps most of it (fragmentation). So a
 * commit larger than maxBatch bytes is written as bounded batches, made atomic by a redo journal:
 *
 * 1. The writes are packed into journal records `j/<n>` of about 1 MiB, each batch synced. Until
 *    step 2 they are garbage: a crash here leaves the map as it was (a later commit rewrites them).
 * 2. One synced batch writes the journal's header `j` (u64be(record count)): the commit is decided.
 * 3. The writes go to their keys in batches of at most maxBatch bytes, each synced (an unsynced
 *    batch is not durable when LevelDB switches log files, even under a later synced one).
 * 4. One synced batch empties the header and the records.
 *
 * A crash after step 2 is finished by recover(), which replays the journal: the writes are plain
 * puts of fixed values, so replaying them again and again is harmless. Within a commit every key
 * is written once, so the order of the batches does not matter.
 */
import { putU64be, readU64be } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { LocalMap } from '../storage/index.ts';

/** Write is one record of a commit. */
export interface Write {
  readonly key: string;
  readonly value: Uint8Array;
}

const HEADER = 'j';
const RECORD = 1 << 20;
const EMPTY = new Uint8Array(0);
const recordKey = (n: number) => `j/${n.toString(16).padStart(8, '0')}`;

// The size of a write in a batch and in a journal record: u16be(key length) ‖ key (ASCII) ‖
// u32be(value length) ‖ value.
const cost = (w: Write) => 6 + w.key.length + w.value.length;

/** inBatches splits writes into runs of at most max bytes (a larger write alone). */
function inBatches(writes: readonly Write[], max: number): Write[][] {
  const out: Write[][] = [];
  let cur: Write[] = [];
  let size = 0;
  for (const w of writes) {
    if (cur.length > 0 && size + cost(w) > max) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(w);
    size += cost(w);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function pack(writes: readonly Write[]): Uint8Array {
  const b = new Uint8Array(writes.reduce((n, w) => n + cost(w), 0));
  const v = new DataView(b.buffer);
  let off = 0;
  for (const { key, value } of writes) {
    v.setUint16(off, key.length);
    for (let i = 0; i < key.length; i++) b[off + 2 + i] = key.charCodeAt(i);
    off += 2 + key.length;
    v.setUint32(off, value.length);
    b.set(value, off + 4);
    off += 4 + value.length;
  }
  return b;
}

function unpack(b: Uint8Array): Write[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Write[] = [];
  for (let off = 0; off < b.length;) {
    const bad = () => new LogError('corrupt', 'map: a journal record is malformed');
    if (off + 2 > b.length) throw bad();
    const klen = v.getUint16(off);
    if (off + 2 + klen + 4 > b.length) throw bad();
    const key = String.fromCharCode(...b.subarray(off + 2, off + 2 + klen));
    off += 2 + klen;
    const vlen = v.getUint32(off);
    if (off + 4 + vlen > b.length) throw bad();
    // A copy: the record's buffer is dropped once its writes are replayed.
    out.push({ key, value: b.slice(off + 4, off + 4 + vlen) });
    off += 4 + vlen;
  }
  return out;
}

/**
 * commitBounded writes all writes (distinct keys) so that after a crash either none or, once
 * recover() ran, all of them are in kv; each batch it writes holds at most about max bytes.
 */
export async function commitBounded(
  kv: LocalMap,
  writes: readonly Write[],
  max: number,
): Promise<void> {
  const total = writes.reduce((n, w) => n + cost(w), 0);
  if (total <= max) return kv.put(writes, { sync: true });
  // Records are packed as they are written: only one batch of them is in memory at a time.
  const runs = inBatches(writes, Math.min(RECORD, max));
  const perBatch = Math.max(1, Math.floor(max / RECORD));
  for (let i = 0; i < runs.length; i += perBatch)
    await kv.put(
      runs.slice(i, i + perBatch).map((run, j) => ({ key: recordKey(i + j), value: pack(run) })),
      { sync: true },
    );
  const header = new Uint8Array(8);
  putU64be(header, 0, runs.length);
  await kv.put([{ key: HEADER, value: header }], { sync: true });
  await replay(kv, writes, runs.length, max);
}

async function replay(kv: LocalMap, writes: readonly Write[], records: number, max: number) {
  for (const batch of inBatches(writes, max)) await kv.put(batch, { sync: true });
  const cleared = [{ key: HEADER, value: EMPTY }];
  for (let n = 0; n < records; n++) cleared.push({ key: recordKey(n), value: EMPTY });
  await kv.put(cleared, { sync: true });
}

/** recover finishes a commit that a crash interrupted after it was decided (step 2 above). */
export async function recover(kv: LocalMap, max: number): Promise<void> {
  const h = await kv.get(HEADER);
  if (!h || h.length === 0) return;
  const count = h.length === 8 ? readU64be(h, 0) : null;
  if (count === null) throw new LogError('corrupt', 'map: the journal header is malformed');
  const got = await kv.getMany(Array.from({ length: count }, (_, n) => recordKey(n)));
  const writes = got.flatMap((r) => {
    if (!r) throw new LogError('corrupt', 'map: a journal record is missing');
    return unpack(r);
  });
  await replay(kv, writes, count, max);
}
