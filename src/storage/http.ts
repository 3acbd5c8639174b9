/**
 * HttpStore reads a remote tlog-tiles log as a read-only LogStore: the lock is the remote
 * checkpoint (verified by TlogClient), objects are fetched by path. It lets migrate() mirror a
 * remote log with the same verified copy it uses between local backends.
 */
import { utf8 } from '../bytes.ts';
import type { TlogClient } from '../client/index.ts';
import { LogError } from '../errors.ts';
import { parseTilePath } from '../tiles/index.ts';
import type { Commit, LogStore } from './storage.ts';

/** HttpStore is a read-only LogStore over a remote log. */
export class HttpStore implements LogStore {
  private readonly client: TlogClient;

  constructor(client: TlogClient) {
    this.client = client;
  }

  async get(key: string): Promise<Uint8Array | null> {
    if (!key.startsWith('tile/')) return null; // only tiles and bundles are published
    try {
      return await this.client.tile(parseTilePath(key));
    } catch (err) {
      if (err instanceof LogError && err.code === 'not_found') return null;
      throw err;
    }
  }

  getMany(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    return Promise.all(keys.map((k) => this.get(k)));
  }

  async readLock(): Promise<Uint8Array | null> {
    return utf8((await this.client.checkpoint()).note);
  }

  async commit(_c: Commit): Promise<void> {
    throw new LogError('frozen', 'client: a remote log is read-only here');
  }

  async close(): Promise<void> {}
}
