/**
 * What the hammer checks of what it reads: every checkpoint it sees is signed (with --vkey), no
 * smaller than the last and consistent with it (proved from the log's own tiles); every answer's
 * inclusion proof leads to its checkpoint's root; every acknowledged entry is later found at its
 * index in an entry bundle; a full tile or bundle never changes once served (tlog-tiles:
 * immutable).
 */
import { equal } from '../bytes.ts';
import type { TlogClient } from '../client/index.ts';
import { checkInclusion, leafHash } from '../merkle/index.ts';
import {
  type Checkpoint,
  type NoteVerifier,
  openNote,
  parseCheckpoint,
  splitNote,
} from '../note/index.ts';
import { decodeBundle, ENTRIES, type Tile, TILE_WIDTH, tileAt } from '../tiles/index.ts';
import type { Stats } from './stats.ts';
import type { Ack } from './writer.ts';

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Verifier holds the newest verified checkpoint and the acknowledgements still to find. */
export class Verifier {
  /** latest is the newest checkpoint seen; owned here, advanced only by observe(). */
  latest: Checkpoint | null = null;
  private readonly pending: Ack[] = [];
  private readonly seen = new Map<string, Uint8Array>();
  private chain: Promise<void> = Promise.resolve();
  /** known records when each larger checkpoint was first held, for the rollback check. */
  private readonly known: { at: number; size: number }[] = [];

  private readonly client: TlogClient;
  private readonly verifiers: readonly NoteVerifier[];
  private readonly stats: Stats;

  constructor(client: TlogClient, verifiers: readonly NoteVerifier[], stats: Stats) {
    this.client = client;
    this.verifiers = verifiers;
    this.stats = stats;
  }

  /** open parses a checkpoint note, verifying its signature when keys were given. */
  open(note: string): Checkpoint {
    if (this.verifiers.length > 0) return parseCheckpoint(openNote(note, this.verifiers).text);
    const parts = splitNote(note);
    if (!parts) throw new Error('checkpoint is not a signed note');
    return parseCheckpoint(parts.text);
  }

  /**
   * observe checks a checkpoint against the newest one seen: the same size must have the same
   * root, and any two sizes must be consistent (proved from the log's tiles). A checkpoint fetched
   * by a request that started at `startedAt` must be no smaller than every checkpoint the hammer
   * already held at that moment (a rollback). Calls are chained, so `latest` has one writer.
   */
  observe(note: string, startedAt?: number): Promise<void> {
    const step = this.chain.then(() => this.advance(note, startedAt));
    this.chain = step.catch(() => undefined);
    return step;
  }

  private async advance(note: string, startedAt: number | undefined): Promise<void> {
    let cp: Checkpoint;
    try {
      cp = this.open(note);
    } catch (err) {
      return this.stats.verifyFailure(`checkpoint: ${describe(err)}`);
    }
    const floor = startedAt === undefined ? 0 : this.sizeKnownAt(startedAt);
    if (cp.size < floor)
      return this.stats.verifyFailure(`rollback: checkpoint size ${cp.size} after ${floor}`);
    const old = this.latest;
    if (old && cp.size === old.size && !equal(cp.root, old.root))
      return this.stats.verifyFailure(`fork: two roots for size ${cp.size}`);
    if (old && cp.size !== old.size) {
      const [a, b] = cp.size < old.size ? [cp, old] : [old, cp];
      try {
        await this.client.checkConsistent(a, b);
      } catch (err) {
        return this.stats.verifyFailure(
          `checkpoints ${a.size} and ${b.size} are not consistent: ${describe(err)}`,
        );
      }
    }
    if (!old || cp.size > old.size) {
      this.latest = cp;
      this.known.push({ at: performance.now(), size: cp.size });
    }
  }

  // The largest size held before time t (`known` grows in both time and size).
  private sizeKnownAt(t: number): number {
    let [lo, hi] = [0, this.known.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.known[mid]!.at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : this.known[lo - 1]!.size;
  }

  /** acknowledged checks an answer's inclusion proof and remembers the entry to find later. */
  acknowledged(ack: Ack): void {
    try {
      const cp = this.open(ack.checkpoint);
      checkInclusion(ack.index, cp.size, ack.leaf, ack.hashes, cp.root);
    } catch (err) {
      return this.stats.verifyFailure(`answer for index ${ack.index}: ${describe(err)}`);
    }
    this.pending.push(ack);
    void this.observe(ack.checkpoint);
  }

  /** immutable checks that a full tile or bundle has the same bytes every time it is read. */
  immutable(path: string, data: Uint8Array): void {
    const before = this.seen.get(path);
    if (before && !equal(before, data))
      this.stats.verifyFailure(`${path} changed after it was served`);
    else if (!before && this.seen.size < 4096) this.seen.set(path, data);
  }

  /**
   * findAcknowledged looks up every remembered entry below the latest checkpoint's size in its
   * entry bundle, one bundle read per bundle. Entries above it wait for a later checkpoint.
   */
  async findAcknowledged(): Promise<void> {
    const size = this.latest?.size ?? 0;
    const due = this.pending.filter((a) => a.index < size);
    const later = this.pending.filter((a) => a.index >= size);
    this.pending.splice(0, this.pending.length, ...later);
    const byBundle = new Map<number, Ack[]>();
    for (const a of due) {
      const n = Math.floor(a.index / TILE_WIDTH);
      byBundle.set(n, [...(byBundle.get(n) ?? []), a]);
    }
    for (const [n, acks] of byBundle) {
      const tile: Tile = tileAt(ENTRIES, n, size)!;
      let entries: Uint8Array[];
      try {
        entries = decodeBundle(await this.client.tile(tile), tile.width);
      } catch (err) {
        this.stats.verifyFailure(`entry bundle ${n}: ${describe(err)}`);
        continue;
      }
      for (const a of acks) {
        const e = entries[a.index % TILE_WIDTH];
        if (!e || !equal(leafHash(e), a.leaf))
          this.stats.verifyFailure(`acknowledged entry ${a.index} is not in the log at its index`);
      }
    }
  }

  /** unchecked is how many acknowledged entries no checkpoint has covered yet. */
  get unchecked(): number {
    return this.pending.length;
  }
}
