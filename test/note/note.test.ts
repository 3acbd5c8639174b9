import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { fromBase64, toHex, utf8 } from '../../src/bytes.ts';
import { LogError } from '../../src/errors.ts';
import {
  formatCheckpoint,
  formatVerifierKey,
  generateSignerKey,
  keyId,
  NoteError,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from '../../src/note/index.ts';
import { type NoteFailure, signNote } from '../../src/note/note.ts';

const GO = JSON.parse(readFileSync('spec-vectors/golang-mod/sumdb_vectors.json', 'utf8'));
const FMT = JSON.parse(
  readFileSync('spec-vectors/transparency-dev-formats/formats_vectors.json', 'utf8'),
);
const C2SP = JSON.parse(readFileSync('spec-vectors/c2sp-spec-examples.json', 'utf8'));

const peter = parseVerifierKey(GO.keys.PeterNeumann.vkey);

// failure returns the typed reason openNote gives for a note that does not open.
function failure(open: () => unknown): NoteFailure {
  try {
    open();
  } catch (err) {
    if (err instanceof NoteError) return err.reason;
    throw err;
  }
  throw new Error('the note opened');
}
const enoch = parseVerifierKey(GO.keys.EnochRoot.vkey);

describe('signed-note keys (golang.org/x/mod/sumdb/note vectors)', () => {
  it('parses verifier and signer keys and computes their key IDs', () => {
    expect(peter.name).toBe('PeterNeumann');
    expect(peter.keyHash.toString(16)).toBe(GO.keys.PeterNeumann.keyIdHex);
    expect(enoch.keyHash.toString(16)).toBe(GO.keys.EnochRoot.keyIdHex);
    const signer = parseSignerKey(GO.keys.PeterNeumann.skey);
    expect(signer.verifierKey).toBe(GO.keys.PeterNeumann.vkey);
    expect(formatVerifierKey('PeterNeumann', peter.publicKey)).toBe(GO.keys.PeterNeumann.vkey);
    const typed = Uint8Array.of(1, ...peter.publicKey);
    expect(toHex(keyId('PeterNeumann', typed)).slice(0, 8)).toBe('c74f20a3');
  });

  it('rejects the bad verifier keys', () => {
    for (const b of GO.badVkeys.filter((b: { vkey?: string }) => b.vkey)) {
      expect(() => parseVerifierKey(b.vkey), b.why).toThrow(LogError);
    }
    for (const b of FMT.ecdsaNotes.badVkeys) expect(() => parseVerifierKey(b), b).toThrow(LogError);
  });

  it('rejects every proper substring and every one-byte mangling of a valid key', () => {
    const vkey = GO.keys.PeterNeumann.vkey as string;
    for (let i = 0; i < vkey.length; i++) {
      for (let j = i; j <= vkey.length; j++) {
        if (i === 0 && j === vkey.length) continue;
        expect(() => parseVerifierKey(vkey.slice(i, j))).toThrow(LogError);
      }
      const mangled =
        vkey.slice(0, i) + String.fromCharCode(vkey.charCodeAt(i) + 1) + vkey.slice(i + 1);
      expect(() => parseVerifierKey(mangled), mangled).toThrow(LogError);
    }
    const skey = GO.keys.PeterNeumann.skey as string;
    for (let i = 0; i < skey.length; i++) {
      const mangled =
        skey.slice(0, i) + String.fromCharCode(skey.charCodeAt(i) + 1) + skey.slice(i + 1);
      expect(() => parseSignerKey(mangled), mangled).toThrow(LogError);
    }
  });

  it('generates keys that round-trip', () => {
    const s = parseSignerKey(generateSignerKey('log.example.test/a'));
    expect(parseVerifierKey(s.verifierKey).keyHash).toBe(s.keyHash);
    expect(() => generateSignerKey('bad name')).toThrow(LogError);
    expect(() => generateSignerKey('bad+name')).toThrow(LogError);
  });
});

describe('signed notes', () => {
  const sn = GO.signedNote;

  it('signs byte for byte as Go does (Ed25519 is deterministic)', () => {
    const d = GO.deterministicSign;
    expect(signNote(d.text, [parseSignerKey(d.skey)])).toBe(d.wantSignedNote);
  });

  it('opens with known keys, ignoring unknown ones', () => {
    const one = openNote(sn.fullNoteBoth, [peter]);
    expect(one.text).toBe(sn.text);
    expect(one.sigs.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(one.unverifiedSigs.map((s) => s.name)).toEqual(['EnochRoot']);
    expect(openNote(sn.fullNoteBoth, [peter, enoch]).sigs).toHaveLength(2);
    expect(() => openNote(sn.fullNoteBoth, [])).toThrow(/no verifiable signatures/);
    expect(failure(() => openNote(sn.fullNoteBoth, []))).toBe('unverified');
    expect(
      failure(() => openNote(sn.fullNoteBoth, [parseVerifierKey(FMT.ecdsaNotes.cases[0].vkey)])),
    ).toBe('unverified');
    expect(openNote(utf8(sn.fullNotePeterOnly), [peter]).text).toBe(sn.text);
  });

  it('rejects every malformed note', () => {
    for (const c of GO.malformedNotes.cases) {
      const note = c.noteBase64 ? fromBase64(c.noteBase64)! : c.note;
      expect(() => openNote(note, [peter]), c.why).toThrow(LogError);
      expect(
        failure(() => openNote(note, [peter])),
        c.why,
      ).toBe('malformed');
    }
  });

  it('rejects a note whose known key signature is invalid', () => {
    expect(() => openNote(GO.invalidSignature.note, [peter])).toThrow(
      /invalid signature for key PeterNeumann\+c74f20a3/,
    );
    expect(failure(() => openNote(GO.invalidSignature.note, [peter]))).toBe('invalid_signature');
  });

  it('accepts 100 signatures and refuses 101', () => {
    const signer = parseSignerKey(GO.keys.PeterNeumann.skey);
    const line = signNote(sn.text, [signer]).slice(sn.text.length + 1);
    const others = (n: number) =>
      Array.from({ length: n }, (_, i) => `\u2014 other${i} ${line.split(' ')[2]}`).join('');
    expect(openNote(sn.text + '\n' + line + others(99), [peter]).unverifiedSigs).toHaveLength(99);
    expect(failure(() => openNote(sn.text + '\n' + line + others(100), [peter]))).toBe('malformed');
  });

  it('verifies the C2SP signed-note example and real sum.golang.org checkpoints', () => {
    const ex = C2SP.signedNoteExample;
    expect(openNote(ex.note, [parseVerifierKey(ex.vkey)]).text).toBe(
      'This is an example message.\n',
    );
    for (const c of FMT.realCheckpoints) {
      const note = openNote(c.note, [parseVerifierKey(c.vkey)]);
      expect(parseCheckpoint(note.text).origin).toBe('go.sum database tree');
    }
  });

  it('verifies the ECDSA (type 0x02) notes and rejects a key name mismatch', () => {
    for (const c of FMT.ecdsaNotes.cases) {
      const run = () => openNote(c.note, [parseVerifierKey(c.vkey)]);
      if (c.wantErr) expect(run, c.why).toThrow(LogError);
      else expect(run().sigs).toHaveLength(1);
    }
  });

  it('splits at the last blank line (the Quasimodo example), ignoring its unknown key', () => {
    const q = C2SP.signedNoteIntroExample;
    expect(() => openNote(q.note, [peter])).toThrow(/no verifiable signatures/);
    const signer = parseSignerKey(GO.keys.PeterNeumann.skey);
    expect(
      openNote(signNote(q.parsedBody, [signer]) + q.note.slice(q.parsedBody.length + 1), [peter])
        .text,
    ).toBe(q.parsedBody);
  });

  it('never crashes on arbitrary input, and opens only text that was signed', () => {
    const signer = parseSignerKey(GO.keys.PeterNeumann.skey);
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.nat(300),
        fc.string({ maxLength: 5 }),
        (text, cut, junk) => {
          const signed = text.endsWith('\n')
            ? (() => {
                try {
                  return signNote(text, [signer]);
                } catch {
                  return text;
                }
              })()
            : text;
          const msg = signed.slice(0, cut) + junk + signed.slice(cut);
          try {
            const n = openNote(msg, [peter]);
            // Only a correctly signed text opens: the signature line that verified is Peter's own.
            expect(msg.startsWith(n.text + '\n')).toBe(true);
            expect(msg).toContain(signNote(n.text, [signer]).slice(n.text.length + 1));
          } catch (e) {
            expect(e).toBeInstanceOf(LogError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('checkpoints', () => {
  it('formats as transparency-dev/formats does', () => {
    for (const v of FMT.checkpointMarshal) {
      expect(
        formatCheckpoint({
          origin: v.origin,
          size: v.size,
          root: utf8(v.hashAscii),
          extensions: [],
        }),
      ).toBe(v.want);
    }
  });

  it('parses valid checkpoints with 32-byte roots and rejects the invalid ones', () => {
    const real = FMT.realCheckpoints[0].note.split('\n\n')[0] + '\n';
    const cp = parseCheckpoint(real);
    expect(cp.size).toBe(6476701);
    expect(formatCheckpoint(cp)).toBe(real);
    const ext = real + 'extension line\n';
    expect(parseCheckpoint(ext).extensions).toEqual(['extension line']);
    for (const v of FMT.checkpointUnmarshal.invalid)
      expect(() => parseCheckpoint(v.m), v.why).toThrow(LogError);
    for (const v of FMT.checkpointUnmarshal.valid) {
      // formats accepts any root length and empty extension lines; C2SP wants a SHA-256 root
      // and non-empty extension lines, so a strict parser rejects these.
      expect(() => parseCheckpoint(v.m)).toThrow(LogError);
    }
    for (const bad of [
      'o\n01\n' + real.split('\n')[2] + '\n',
      'o\n+1\n' + real.split('\n')[2] + '\n',
      'o\n1\n' + real.split('\n')[2] + '\n\n',
    ]) {
      expect(() => parseCheckpoint(bad), bad).toThrow(LogError);
    }
  });

  it('round-trips every checkpoint it formats and never crashes on junk', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !s.includes('\n')),
        fc.maxSafeNat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (origin, size, root) => {
          const c = { origin, size, root, extensions: [] };
          expect(parseCheckpoint(formatCheckpoint(c))).toEqual(c);
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (s) => {
        try {
          expect(formatCheckpoint(parseCheckpoint(s))).toBe(s);
        } catch (e) {
          expect(e).toBeInstanceOf(LogError);
        }
      }),
    );
  });
});
