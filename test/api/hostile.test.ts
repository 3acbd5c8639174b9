// Hostile clients against a real listening server: a slow client holding a half-sent body must not
// stop others from being served; deep JSON nesting and huge numbers get 4xx answers.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { utf8 } from '../../src/bytes.ts';
import { startServer } from '../../src/server.ts';
import { makeSigner, request } from '../helpers/signers.ts';

describe('hostile clients', () => {
  it('keeps serving while a slow client trickles a body, and refuses deep nesting and huge numbers', async () => {
    const running = await startServer({
      data: mkdtempSync(join(tmpdir(), 'tilelog-hostile-')),
      listen: '127.0.0.1:0',
      prefix: '/api/v2',
      say: () => {},
    });
    try {
      const { port } = new URL(running.url);
      const slow = connect(Number(port), '127.0.0.1');
      await new Promise((r) => slow.once('connect', r));
      slow.write('POST /api/v2/log/entries HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc');
      const signer = makeSigner('PKIX_ECDSA_P256_SHA_256');
      const ok = await fetch(`${running.url}/log/entries`, {
        method: 'POST',
        body: JSON.stringify(request(signer, utf8('while someone is slow'))),
      });
      expect(ok.status).toBe(201);
      slow.destroy();
      const deep = '{"hashedRekordRequestV002":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
      const r1 = await fetch(`${running.url}/log/entries`, { method: 'POST', body: deep });
      expect(r1.status).toBe(400);
      const huge = await fetch(
        `${running.url}/proof/inclusion?index=${'9'.repeat(5000)}&treeSize=1`,
      );
      expect(huge.status).toBe(400);
      const bigNumber = await fetch(`${running.url}/log/entries`, {
        method: 'POST',
        body: '{"hashedRekordRequestV002":{"digest":1e999999}}',
      });
      expect(bigNumber.status).toBe(400);
      expect((await fetch(`${running.url}/checkpoint`)).status).toBe(200);
    } finally {
      await running.close();
    }
  }, 30_000);
});
