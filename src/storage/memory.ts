/**
 * The in-memory reference driver: the storage contract by example, used by tests and dev runs.
 * It copies bytes in and out, so a caller that mutates a buffer after a call cannot change what
 * was stored: aliasing bugs show up here rather than on a real backend.
 */
import { equal } from '../bytes.ts';
import { assert, LogError } from '../errors.ts';
import type { Commit, LogStore } from './storage.ts';

/** MemoryStore keeps a log in a Map; it is lost when the process ends. */
export class MemoryStore implements LogStore {
  private readonly objects = new Map<string, Uint8Array>();
  private lock: Uint8Array | null = null;
  private closed = false;

  async get(key: string): Promise<Uint8Array | null> {
    this.check();
    const v = this.objects.get(key);
    return v ? v.slice() : null;
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    this.check();
    return keys.map((k) => this.objects.get(k)?.slice() ?? null);
  }

  async readLock(): Promise<Uint8Array | null> {
    this.check();
    return this.lock ? this.lock.slice() : null;
  }

  async commit(c: Commit): Promise<void> {
    this.check();
    const same =
      c.expected === null ? this.lock === null : this.lock !== null && equal(this.lock, c.expected);
    if (!same) throw new LogError('conflict', 'storage: lock changed since it was read');
    for (const o of c.objects) {
      if (o.value === null) this.objects.delete(o.key);
      else this.objects.set(o.key, o.value.slice());
    }
    this.lock = c.next.slice();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** keys lists the stored keys (for tests and fsck). */
  keys(): string[] {
    return [...this.objects.keys()];
  }

  private check(): void {
    assert(!this.closed, 'storage: memory store used after close');
  }
}
