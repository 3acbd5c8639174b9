/**
 * The read-only log of a mirror: a store holding a copy of another log (`tilelog mirror`). It has
 * no signer and no sequencer; it verifies the lock with the log's verifier key, serves reads and
 * proofs up to the copied checkpoint, and refuses writes (Log reports it frozen).
 *
 * Owned by MirrorCore: the state it last loaded, replaced wholesale by refresh().
 */
import { LogError } from '../errors.ts';
import { parseVerifierKey } from '../note/index.ts';
import type { LogStore } from '../storage/index.ts';
import type { LogCore } from './log.ts';
import type { AddResult } from './pool.ts';
import { TileReader } from './reader.ts';
import { loadPublished, loadState, type LogState, type Published } from './state.ts';

/** MirrorCore serves a mirrored log read-only. */
export class MirrorCore implements LogCore {
  readonly role = 'mirror';
  readonly reader: TileReader;
  readonly pending = 0;
  readonly stuckForMs = 0;
  private readonly store: LogStore;
  private readonly origin: string;
  private readonly verifierKey: string;
  private state: LogState;
  private current: Published;
  private loadedAt = Date.now();

  private constructor(store: LogStore, opts: { origin: string; verifierKey: string }) {
    this.store = store;
    this.origin = opts.origin;
    this.verifierKey = opts.verifierKey;
    this.reader = new TileReader(store, () => this.state.checkpoint.size);
    this.state = undefined!;
    this.current = undefined!;
  }

  /** open loads the mirrored log; a store with no log is 'not_found'. */
  static async open(
    store: LogStore,
    opts: { origin: string; verifierKey: string },
  ): Promise<MirrorCore> {
    const m = new MirrorCore(store, opts);
    await m.load();
    return m;
  }

  get published(): Published {
    return this.current;
  }

  get integrated(): LogState {
    return this.state;
  }

  get lastPublishedAt(): number {
    return this.loadedAt;
  }

  add(): Promise<AddResult> {
    return Promise.reject(new LogError('frozen', 'sequencer: a mirror accepts no entries'));
  }

  refresh(): Promise<void> {
    return this.load();
  }

  async close(): Promise<void> {}

  private async load(): Promise<void> {
    const verifier = parseVerifierKey(this.verifierKey);
    const state = await loadState(this.store, verifier, this.origin);
    if (!state) throw new LogError('not_found', 'sequencer: the store holds no log to serve');
    const published = await loadPublished(this.store, verifier, state);
    this.state = state;
    this.current = published;
    this.loadedAt = Date.now();
  }
}
