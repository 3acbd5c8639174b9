// A fault-injecting store double: wraps a real store and fails chosen operations either before
// anything is persisted or after the inner store persisted it.
import { LogError } from '../../src/errors.ts';
import type { Commit, LogStore } from '../../src/storage/index.ts';

export type FaultMode = 'none' | 'fail-before' | 'fail-after';

export class FaultyStore implements LogStore {
  commitFault: FaultMode = 'none';
  readFault = false;
  commits = 0;
  readonly inner: LogStore;
  constructor(inner: LogStore) {
    this.inner = inner;
  }

  private readCheck(): void {
    if (this.readFault) throw new LogError('unavailable', 'injected read fault');
  }

  async get(key: string) {
    this.readCheck();
    return this.inner.get(key);
  }
  async getMany(keys: readonly string[]) {
    this.readCheck();
    return this.inner.getMany(keys);
  }
  async readLock() {
    this.readCheck();
    return this.inner.readLock();
  }
  async commit(c: Commit) {
    const mode = this.commitFault;
    if (mode === 'fail-before')
      throw new LogError('unavailable', 'injected fault before persisting');
    await this.inner.commit(c);
    this.commits++;
    if (mode === 'fail-after') throw new LogError('unavailable', 'injected fault after persisting');
  }
  close() {
    return this.inner.close();
  }
}
