// entryBytes writes the Rekor write's answer without JSON.stringify, keeping the last note's JSON:
// it must be the UTF-8 of the same text for every entry the write path can make (base64, decimals
// and enum names, any checkpoint note), answer after answer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { hashesBase64 } from '../../src/api/answer.ts';
import { entryBytes, type TransparencyLogEntry } from '../../src/api/create.ts';

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

const same = (e: TransparencyLogEntry) => entryBytes(e).equals(Buffer.from(JSON.stringify(e)));

describe('entryBytes', () => {
  it('is the UTF-8 of JSON.stringify of the entry, for any sequence of entries', () => {
    // Sequences, so that the kept envelope is reused for the same note and replaced for another.
    fc.assert(fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), (es) => es.every(same)));
    fc.assert(
      fc.property(entry, fc.nat(5), (e, n) => Array.from({ length: n + 1 }, () => e).every(same)),
    );
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
    expect(same(e)).toBe(true);
    expect(JSON.parse(entryBytes(e).toString())).toEqual(e);
  });
});

describe('hashesBase64', () => {
  it('is the standard base64 of each hash, for any proof', () => {
    const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(fc.array(hash, { maxLength: 100 }), (hs) => {
        const want = hs.map((h) => Buffer.from(h).toString('base64'));
        return JSON.stringify(hashesBase64(hs)) === JSON.stringify(want);
      }),
    );
  });
});
