// Only the instance that sequences pushes to mirrors (#17): a MirrorPush over a real Log whose
// role is read at every tick sends nothing while the log is a cluster frontend, and brings a real
// mirror (LevelDB) up to the published checkpoint once it sequences.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { toHex, utf8 } from '../../src/bytes.ts';
import { type RunningMirror, startMirrorServer } from '../../src/cli/mirror.ts';
import { sha256 } from '../../src/crypto.ts';
import { MirrorPush } from '../../src/mirror/push.ts';
import {
  ALG_COSIGNATURE_V1,
  generateCosignerSecret,
  generateSignerKey,
  parseSignerKey,
} from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/index.ts';
import { parsePolicy } from '../../src/witness/index.ts';

const ORIGIN = 'role.test/log';
const signer = parseSignerKey(generateSignerKey(ORIGIN));

let running: RunningMirror | undefined;
afterAll(() => running?.close());

describe('serve --mirror-policy on a cluster', () => {
  it('pushes only while the instance sequences', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-role-'));
    writeFileSync(join(dir, 'cfg'), `log ${ORIGIN} ${signer.verifierKey}\n`);
    writeFileSync(join(dir, 'key'), generateCosignerSecret('m.test', ALG_COSIGNATURE_V1) + '\n');
    running = await startMirrorServer({
      listen: '127.0.0.1:0',
      config: join(dir, 'cfg'),
      key: join(dir, 'key'),
      data: join(dir, 'mirror'),
      say: () => undefined,
    });
    const m = running;
    const policy = parsePolicy(
      `log ${signer.verifierKey}\nwitness M ${m.verifierKeys[0]} ${m.url}\nquorum none\n`,
    );
    const log = await Log.open(new MemoryStore(), { origin: ORIGIN, signer, maxAgeMs: 5 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.add(utf8(`entry ${i}`))));
    let role = 'frontend';
    const source = {
      get role() {
        return role;
      },
      get state() {
        return log.state;
      },
      reader: log.reader,
    };
    let posts = 0;
    const mirrored: number[] = [];
    const push = new MirrorPush({
      policy,
      source,
      fetch: (...a) => (posts++, fetch(...a)),
      events: {
        mirrored: (_, size) => mirrored.push(size),
        failed: (_, why) => expect(why).toBe(''),
      },
    });
    const checkpoint = `${m.url}/${toHex(sha256(utf8(ORIGIN)))}/checkpoint`;
    await push.pushAll();
    expect(posts).toBe(0);
    expect((await fetch(checkpoint)).status).toBe(404);
    role = 'sequencer';
    await push.pushAll();
    expect(mirrored).toEqual([300]);
    const served = await (await fetch(checkpoint)).text();
    expect(served.startsWith(log.state.note)).toBe(true);
    // Back to a frontend (the lease moved): the next publication is left to the new sequencer.
    await log.add(utf8('one more'));
    role = 'frontend';
    const before = posts;
    await push.pushAll();
    expect(posts).toBe(before);
    await log.close();
  });
});
