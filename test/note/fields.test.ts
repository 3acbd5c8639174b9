// The shared helpers for note fields: the 4-byte key hash (big-endian, the first bytes of a key ID
// and of every signature) and the unchecked first lines of a checkpoint.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { toBase64 } from '../../src/bytes.ts';
import {
  formatCheckpoint,
  generateSignerKey,
  keyHashHex,
  keyId,
  parseSignerKey,
  parseVerifierKey,
  peekCheckpoint,
  readKeyHash,
  splitNote,
} from '../../src/note/index.ts';
import { keyHashBytes } from '../../src/note/keys.ts';
import { signNote } from '../../src/note/note.ts';

describe('key hash', () => {
  it('keyHashBytes and readKeyHash round-trip every 32-bit value, big-endian', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (h) => {
        const b = keyHashBytes(h);
        expect(b).toEqual(Uint8Array.from(Buffer.from(keyHashHex(h), 'hex')));
        expect(readKeyHash(b)).toBe(h);
      }),
    );
    expect(readKeyHash(Uint8Array.of(0xff, 0, 0, 1, 9))).toBe(0xff000001);
  });

  it('is the first 4 bytes of the key ID, as written in the key string and every signature', () => {
    const signer = parseSignerKey(generateSignerKey('example.com/fields'));
    const v = parseVerifierKey(signer.verifierKey);
    const id = keyId(v.name, Uint8Array.of(1, ...v.publicKey));
    expect(readKeyHash(id)).toBe(v.keyHash);
    expect(signer.verifierKey.split('+')[1]).toBe(keyHashHex(v.keyHash));
    const note = signNote('example.com/fields\n1\n' + toBase64(new Uint8Array(32)) + '\n', [
      signer,
    ]);
    const line = splitNote(note)!.signatures;
    expect(Buffer.from(line.split(' ')[2]!, 'base64').subarray(0, 4)).toEqual(
      Buffer.from(keyHashBytes(v.keyHash)),
    );
  });
});

describe('peekCheckpoint', () => {
  it('returns the origin, size and root lines of a checkpoint or a signed note, unchecked', () => {
    const root = new Uint8Array(32).fill(7);
    const text = formatCheckpoint({ origin: 'o/x', size: 42, root, extensions: ['ext'] });
    const want = { origin: 'o/x', size: '42', root: toBase64(root) };
    expect(peekCheckpoint(text)).toEqual(want);
    expect(peekCheckpoint(text + '\n\u2014 o/x AAAA\n')).toEqual(want);
    expect(peekCheckpoint('only')).toEqual({ origin: 'only', size: '', root: '' });
    expect(peekCheckpoint('a\n+01\n')).toEqual({ origin: 'a', size: '+01', root: '' });
  });
});
