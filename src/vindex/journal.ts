/**
 * The redo journal an older version wrote for commits larger than a batch (it now applies a
 * chunk in parts that are each one batch: store.ts, apply). A map such a version left with a
 * decided journal is finished here. Its steps were:
 *
 * 1. The writes were packed into journal records `j/<n>`, each batch synced; until step 2 they
 *    are garbage (a crash here left the map as it was).
 * 2. One synced batch wrote the journal's header `j` (u64be(record count)): the commit is decided.
 * 3. The writes went to their keys in bounded batches, each synced.
 * 4. One synced batch emptied the header and the records.
 *
 * recover() replays a decided journal: the writes are plain puts of fixed values, replayed in
 * the order they were added (a key written twice ends with its last value), so replaying them
 * again and again is harmless.
 */
import { readU64be } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { LocalMap } from '../storage/index.ts';

/** Write is one record of a commit. */
interface Write {
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

// Keys are ASCII (storage keys are hex and fixed prefixes), which UTF-8 decodes as itself.
const ascii = new TextDecoder();

function unpack(b: Uint8Array): Write[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Write[] = [];
  for (let off = 0; off < b.length;) {
    const bad = () => new LogError('corrupt', 'map: a journal record is malformed');
    if (off + 2 > b.length) throw bad();
    const klen = v.getUint16(off);
    if (off + 2 + klen + 4 > b.length) throw bad();
    const key = ascii.decode(b.subarray(off + 2, off + 2 + klen));
    off += 2 + klen;
    const vlen = v.getUint32(off);
    if (off + 4 + vlen > b.length) throw bad();
    // A view: the record is dropped once its writes are.
    out.push({ key, value: b.subarray(off + 4, off + 4 + vlen) });
    off += 4 + vlen;
  }
  return out;
}

// replay writes the journal's records to their keys in order, a few records at a time, then
// empties the journal.
async function replay(kv: LocalMap, records: number, max: number): Promise<void> {
  const perBatch = Math.max(1, Math.floor(max / RECORD));
  for (let n = 0; n < records; n += perBatch) {
    const ids = Array.from({ length: Math.min(perBatch, records - n) }, (_, j) => recordKey(n + j));
    const writes = (await kv.getMany(ids)).flatMap((r) => {
      if (!r) throw new LogError('corrupt', 'map: a journal record is missing');
      return unpack(r);
    });
    for (const batch of inBatches(writes, max)) await kv.put(batch, { sync: true });
  }
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
  await replay(kv, count, max);
}
