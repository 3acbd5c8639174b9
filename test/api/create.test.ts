// entryJson writes the Rekor write's answer without JSON.stringify: it must be the same text for
// every entry the write path can make (base64, decimals and enum names, any checkpoint note).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { entryJson, type TransparencyLogEntry } from '../../src/api/create.ts';

const base64 = fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64'));
const decimal = fc.nat().map(String);

const entry: fc.Arbitrary<TransparencyLogEntry> = fc
  .record({
    index: decimal,
    keyId: base64,
    kind: fc.constantFrom('hashedrekord', 'dsse'),
    version: fc.constantFrom('0.0.2', '0.0.1'),
    root: base64,
    size: decimal,
    hashes: fc.array(base64, { maxLength: 40 }),
    // A note is any text: signature lines start with an em dash, origins may hold quotes.
    envelope: fc.string({ unit: 'binary', maxLength: 300 }),
    body: base64,
  })
  .map((r) => ({
    logIndex: r.index,
    logId: { keyId: r.keyId },
    kindVersion: { kind: r.kind, version: r.version },
    integratedTime: '0',
    inclusionPromise: null,
    inclusionProof: {
      logIndex: r.index,
      rootHash: r.root,
      treeSize: r.size,
      hashes: r.hashes,
      checkpoint: { envelope: r.envelope },
    },
    canonicalizedBody: r.body,
  }));

describe('entryJson', () => {
  it('is JSON.stringify of the entry', () => {
    fc.assert(fc.property(entry, (e) => entryJson(e) === JSON.stringify(e)));
  });

  it('writes a real checkpoint note and an empty proof as JSON.stringify does', () => {
    const e: TransparencyLogEntry = {
      logIndex: '0',
      logId: { keyId: 'AAAA' },
      kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
      integratedTime: '0',
      inclusionPromise: null,
      inclusionProof: {
        logIndex: '0',
        rootHash: 'AAAA',
        treeSize: '1',
        hashes: [],
        checkpoint: { envelope: 'log.example/"q"\n1\nAAAA\n\n\u2014 log.example/"q" AAAA\n' },
      },
      canonicalizedBody: 'e30=',
    };
    expect(entryJson(e)).toBe(JSON.stringify(e));
    expect(JSON.parse(entryJson(e))).toEqual(e);
  });
});
