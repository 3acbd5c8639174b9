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
 * puts of fixed values, replayed in the order they were added (a key written twice ends with
 * its last value), so replaying them again and again is harmless.
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

const asciiOut = new TextEncoder();

function pack(writes: readonly Write[]): Uint8Array {
  const b = new Uint8Array(writes.reduce((n, w) => n + cost(w), 0));
  const v = new DataView(b.buffer);
  let off = 0;
  for (const { key, value } of writes) {
    v.setUint16(off, key.length);
    asciiOut.encodeInto(key, b.subarray(off + 2, off + 2 + key.length));
    off += 2 + key.length;
    v.setUint32(off, value.length);
    b.set(value, off + 4);
    off += 4 + value.length;
  }
  return b;
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

/**
 * Commit collects the writes of one commit (added in parts, in order; a later write of a key
 * replaces an earlier one) and writes them so that after a crash either none or, once recover()
 * ran, all of them are in kv. A commit of at most max bytes is one batch; a larger one streams
 * into journal records as writes are added, so it holds about max bytes of them at a time.
 */
export class Commit {
  private readonly kv: LocalMap;
  private readonly max: number;
  private pending: Write[] = [];
  private size = 0;
  private records = 0;

  constructor(kv: LocalMap, max: number) {
    this.kv = kv;
    this.max = max;
  }

  /** add appends writes to the commit, writing full journal records out (step 1). */
  async add(writes: readonly Write[]): Promise<void> {
    for (const w of writes) {
      this.pending.push(w);
      this.size += cost(w);
    }
    if (this.size > this.max) await this.spill(false);
  }

  // spill writes the pending writes as journal records: all of them, or all but a last partial
  // record (more writes may follow).
  private async spill(all: boolean): Promise<void> {
    const runs = inBatches(this.pending, Math.min(RECORD, this.max));
    const keep = all ? [] : (runs.pop() ?? []);
    const perBatch = Math.max(1, Math.floor(this.max / RECORD));
    for (let i = 0; i < runs.length; i += perBatch) {
      const batch = runs.slice(i, i + perBatch);
      await this.kv.put(
        batch.map((run, j) => ({ key: recordKey(this.records + j), value: pack(run) })),
        { sync: true },
      );
      this.records += batch.length;
    }
    this.pending = keep;
    this.size = keep.reduce((n, w) => n + cost(w), 0);
  }

  /** finish decides the commit and writes it to its keys (steps 2 to 4). */
  async finish(): Promise<void> {
    if (this.records === 0 && this.size <= this.max)
      return this.kv.put(this.pending, { sync: true });
    await this.spill(true);
    this.pending = [];
    const header = new Uint8Array(8);
    putU64be(header, 0, this.records);
    await this.kv.put([{ key: HEADER, value: header }], { sync: true });
    await replay(this.kv, this.records, this.max);
  }
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
