// The S3 driver's commit order on a real S3 server, where a commit is three steps (stage, swap
// the lock, apply): a commit pipelined on one whose apply failed must not land; a lock PUT that
// the SDK retried after its first attempt landed is still the commit; and an apply that comes
// late never takes the published checkpoint back to a smaller tree.
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { openS3Store } from '../../src/storage/index.ts';

const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;

type Middleware = (key: string, send: () => Promise<unknown>) => Promise<unknown> | undefined;

// open returns a store on prefix whose requests pass through hook (undefined: send as is).
function open(prefix: string, hook?: Middleware) {
  const configure = (client: S3Client) =>
    client.middlewareStack.add(
      (next) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        const send = () => next(args);
        return ((await hook?.(key.slice(prefix.length + 1), send)) ?? send()) as ReturnType<
          typeof next
        >;
      },
      { step: 'initialize', name: 'hook' },
    );
  return openS3Store({ bucket: 'tilelog-test', prefix, endpoint, forcePathStyle: true, configure });
}

// The lock and published checkpoint of a tree of size n (opaque bytes to the driver, but the
// driver reads the size line of a published checkpoint).
const lock = (n: number) => utf8(`order.example.test\n${n}\nlock ${n}\n`);
const cp = (n: number) => ({ key: 'checkpoint', value: utf8(`order.example.test\n${n}\ncp\n`) });
const tile = (name: string) => ({ key: `tile/0/${name}`, value: utf8(`tile ${name}`) });
const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);
const unique = (what: string) => `order-${what}-${process.pid}-${Date.now()}`;

describe('S3 commit order', () => {
  it('refuses a commit pipelined on one whose apply failed, until readLock() finished it', async () => {
    const prefix = unique('pipelined');
    let failTile: string | null = null;
    const store = await open(prefix, (key) => {
      if (key !== failTile) return undefined;
      failTile = null;
      return Promise.reject(new Error('injected fault before the write'));
    });
    await store.commit({ expected: null, next: lock(1), objects: [cp(1)] });
    failTile = 'tile/0/a';
    const k = store.commit({ expected: lock(1), next: lock(2), objects: [tile('a'), cp(2)] });
    const k1 = store.commit({ expected: lock(2), next: lock(3), objects: [tile('b'), cp(3)] });
    await expect(k).rejects.toMatchObject({ code: 'unavailable' });
    await expect(k1).rejects.toMatchObject({ code: 'conflict' });
    // The swap of k landed: readLock() applies its staging object, then k1 may land.
    expect(text(await store.readLock())).toBe(text(lock(2)));
    expect(text(await store.get('tile/0/a'))).toBe('tile a');
    await store.commit({ expected: lock(2), next: lock(3), objects: [tile('b'), cp(3)] });
    expect(text(await store.get('tile/0/b'))).toBe('tile b');
    expect(text(await store.get('checkpoint'))).toBe(text(cp(3).value));
    await store.close();
  });

  it('takes a lock swap whose retry met its own precondition as the commit', async () => {
    const prefix = unique('retried');
    let retry = false;
    const store = await open(prefix, (key, send) => {
      if (key !== 'lock' || !retry) return undefined;
      // An attempt lands; its answer is lost and the SDK sends it again (412). (An attempt that
      // does not land, such as the ETag form this server does not take, is passed on as is.)
      return send().then(() => {
        retry = false;
        return send();
      });
    });
    await store.commit({ expected: null, next: lock(1), objects: [cp(1)] });
    retry = true;
    await store.commit({ expected: lock(1), next: lock(2), objects: [tile('c'), cp(2)] });
    expect(retry).toBe(false);
    expect(text(await store.get('tile/0/c'))).toBe('tile c');
    expect(text(await store.get('checkpoint'))).toBe(text(cp(2).value));
    await store.commit({ expected: lock(2), next: lock(3), objects: [cp(3)] });
    await store.close();
    const fresh = await open(prefix);
    expect(text(await fresh.readLock())).toBe(text(lock(3)));
    await fresh.close();
  });

  it('never takes the published checkpoint back when an apply comes late', async () => {
    const prefix = unique('late');
    let reached!: () => void;
    const held = new Promise<void>((r) => (reached = r));
    let released!: () => void;
    const release = new Promise<void>((r) => (released = r));
    // A: the sequencer that is paused between its lock swap and its checkpoint write.
    let armed = false;
    const a = await open(prefix, (key, send) => {
      if (key !== 'checkpoint' || !armed) return undefined;
      armed = false;
      reached();
      return release.then(send);
    });
    await a.commit({ expected: null, next: lock(1), objects: [cp(1)] });
    armed = true;
    const late = a.commit({ expected: lock(1), next: lock(2), objects: [tile('d'), cp(2)] });
    await held;
    // B finishes A's commit through readLock() and commits on top of it.
    const b = await open(prefix);
    expect(text(await b.readLock())).toBe(text(lock(2)));
    expect(text(await b.get('checkpoint'))).toBe(text(cp(2).value));
    await b.commit({ expected: lock(2), next: lock(3), objects: [tile('e'), cp(3)] });
    released();
    await late;
    expect(text(await b.get('checkpoint'))).toBe(text(cp(3).value));
    await a.close();
    await b.close();
  });
});
