import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { describe, expect, it } from 'vitest';

import { fromBase64 } from '../../src/bytes.ts';
import { cosignedMessage, cosignerFromSeed } from '../../src/note/cosignature.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  cosignatureTimestamp,
  generateCosignerSecret,
  openNote,
  parseCosignerKey,
  parseCosignerSecret,
} from '../../src/note/index.ts';

const SUN = 'spec-vectors/FiloSottile-sunlight/cmd/skylight/testdata';
const json = (p: string) => JSON.parse(readFileSync(`${SUN}/${p}`, 'utf8'));
const FMT = JSON.parse(
  readFileSync('spec-vectors/transparency-dev-formats/formats_vectors.json', 'utf8'),
);
const C2SP = JSON.parse(readFileSync('spec-vectors/c2sp-spec-examples.json', 'utf8'));
const text = (note: string) => note.slice(0, note.lastIndexOf('\n\n') + 1);
// The key material of a verifier key: everything after the second '+' (base64 may contain '+').
const vkeyBytes = (v: string) => fromBase64(v.slice(v.indexOf('+', v.indexOf('+') + 1) + 1))!;

describe('cosignatures (tlog-cosignature)', () => {
  it('verifies the Sunlight witness and mirror cosignatures (type 0x04)', () => {
    const cases: [string, string][] = [
      [
        'witness/witness.v0.json',
        'witness/000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706/checkpoint',
      ],
      [
        'witness/mirror/mirror.v0.json',
        'witness/mirror/000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706/checkpoint',
      ],
      [
        'witness2/witness.v0.json',
        'witness2/88ad7a28caeb0b2aa890fdf0304c2fcaf59fca2ee140134ff8c1300bac493482/checkpoint',
      ],
    ];
    for (const [meta, cp] of cases) {
      const keys = json(meta).verifier_keys.map(parseCosignerKey);
      const n = openNote(readFileSync(`${SUN}/${cp}`, 'utf8'), keys);
      expect(n.sigs.map((s) => s.name)).toEqual([json(meta).name]);
      expect(cosignatureTimestamp(n.sigs[0]!.base64)).toBe(1767139200);
    }
  });

  it('reads timestamps and builds the signed message as the specs show', () => {
    expect(cosignatureTimestamp(FMT.cosignatureV1.timestampVector.sigBase64)).toBe(
      FMT.cosignatureV1.timestampVector.wantUnixSeconds,
    );
    const ex = C2SP.checkpointWithCosignature;
    const witnessLine = ex.note.split('\n').find((l: string) => l.startsWith('\u2014 witness'));
    expect(cosignatureTimestamp(witnessLine.split(' ')[2])).toBe(ex.cosignatureTimestamp);
    expect(
      new TextDecoder().decode(
        cosignedMessage(
          ALG_COSIGNATURE_V1,
          'witness.example.com/w1',
          text(ex.note),
          ex.cosignatureTimestamp,
        ),
      ),
    ).toBe(ex.cosignedMessageExample);
    expect(parseCosignerKey(FMT.cosignatureV1.validCosigVkey).alg).toBe(ALG_COSIGNATURE_V1);
  });

  it('signs Ed25519 and ML-DSA-44 cosignatures that independent code verifies', () => {
    const note = 'log.example/a\n5\n' + Buffer.alloc(32, 9).toString('base64') + '\n';
    const ts = 1767139200;
    const ed = cosignerFromSeed(
      'witness.example/ed',
      ALG_COSIGNATURE_V1,
      new Uint8Array(32).fill(1),
    );
    const line = ed.cosign(note, ts);
    const raw = fromBase64(line.trim().split(' ')[2]!)!;
    const pub = vkeyBytes(ed.verifierKey).subarray(1);
    const key = createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]),
      format: 'der',
      type: 'spki',
    });
    expect(
      nodeVerify(null, Buffer.from(`cosignature/v1\ntime ${ts}\n${note}`), key, raw.subarray(12)),
    ).toBe(true);
    const pq = cosignerFromSeed('witness.example/pq', ALG_MLDSA44, new Uint8Array(32).fill(2));
    const pqRaw = fromBase64(pq.cosign(note, ts).trim().split(' ')[2]!)!;
    expect(pqRaw.length).toBe(4 + 8 + 2420);
    // cosigned_message, built by hand from the spec's struct.
    const u64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    const msg = Buffer.concat([
      Buffer.from('subtree/v1\n\0'),
      Buffer.from([18]),
      Buffer.from('witness.example/pq'),
      u64(ts),
      Buffer.from([13]),
      Buffer.from('log.example/a'),
      u64(0),
      u64(5),
      Buffer.alloc(32, 9),
    ]);
    const pqPub = vkeyBytes(pq.verifierKey).subarray(1);
    expect(ml_dsa44.verify(pqRaw.subarray(12), msg, pqPub)).toBe(true);
    // And through our own note verification, with both cosigners and an unknown one ignored.
    const signed =
      note + '\n' + line + pq.cosign(note, ts) + '\u2014 stranger AAAAAAAAAAAAAAAAAAAA\n';
    const opened = openNote(signed, [
      parseCosignerKey(ed.verifierKey),
      parseCosignerKey(pq.verifierKey),
    ]);
    expect(opened.sigs.map((s) => s.name)).toEqual(['witness.example/ed', 'witness.example/pq']);
    expect(() =>
      openNote(signed.replace('\n5\n', '\n6\n'), [parseCosignerKey(pq.verifierKey)]),
    ).toThrow(/invalid signature/);
  });

  it('round-trips secret keys and rejects mangled ones', () => {
    for (const alg of [ALG_COSIGNATURE_V1, ALG_MLDSA44] as const) {
      const skey = generateCosignerSecret('witness.example/k', alg);
      const c = parseCosignerSecret(skey);
      expect(parseCosignerKey(c.verifierKey).alg).toBe(alg);
      expect(() => parseCosignerSecret(skey.replace('+KEY+', '+KEY+x'))).toThrow();
    }
    expect(() =>
      parseCosignerKey('witness.example.org+b8a2cf21+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN'),
    ).toThrow(/hash/);
  });
});
