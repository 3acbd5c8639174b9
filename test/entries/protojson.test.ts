// protojson parity with rekor-tiles (Go protojson): enum values as numbers, duplicate keys
// refused, and keyDetails looked up with own properties only.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { admitCreateEntry, KEY_DETAILS, parseJson } from '../../src/entries/index.ts';
import { LogError } from '../../src/errors.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { hasRepeatedKey, jsonTree, treeValue, writeTree } from '../helpers/json-tree.ts';
import { makeSigner, request } from '../helpers/signers.ts';

const opts = { allowedKeyDetails: KEY_DETAILS };
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const utf8 = (s: string) => new TextEncoder().encode(s);

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LogError);
    expect((e as LogError).code).toBe('bad_request');
    return (e as LogError).message;
  }
  throw new Error('expected a refusal');
}

// A request whose verifier.keyDetails is replaced by kd.
function withKeyDetails(kd: unknown) {
  const s = makeSigner('PKIX_ECDSA_P256_SHA_256');
  const req = request(s, utf8('artifact'));
  (req.hashedRekordRequestV002.signature.verifier as Record<string, unknown>).keyDetails = kd;
  return req;
}

describe('keyDetails look-ups use own properties only', () => {
  it.each(['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'])(
    'refuses %s as unsupported, without printing a function',
    (kd) => {
      const msg = refusal(() => admitCreateEntry(withKeyDetails(kd), opts));
      expect(msg).toBe(`keyDetails ${JSON.stringify(kd)} is not supported`);
      expect(msg).not.toMatch(/function|native code/);
    },
  );
});

describe('enum values as numbers (protojson)', () => {
  // PublicKeyDetails numbers from protobuf-specs sigstore_common.proto.
  const NUMBERS: [number, string][] = [
    [5, 'PKIX_ECDSA_P256_SHA_256'],
    [12, 'PKIX_ECDSA_P384_SHA_384'],
    [13, 'PKIX_ECDSA_P521_SHA_512'],
    [9, 'PKIX_RSA_PKCS1V15_2048_SHA256'],
    [10, 'PKIX_RSA_PKCS1V15_3072_SHA256'],
    [11, 'PKIX_RSA_PKCS1V15_4096_SHA256'],
    [8, 'PKIX_ED25519_PH'],
  ];

  it.each(NUMBERS)('admits keyDetails %i and logs the name %s', (n, name) => {
    const s = makeSigner(name as (typeof KEY_DETAILS)[number]);
    const artifact = utf8(`artifact ${name}`);
    const sig = s.sign(artifact);
    const fixed = { ...s, sign: () => sig };
    const byName = admitCreateEntry(request(fixed, artifact), opts);
    const req = request(fixed, artifact);
    (req.hashedRekordRequestV002.signature.verifier as Record<string, unknown>).keyDetails = n;
    const byNumber = admitCreateEntry(req, opts);
    expect(text(byNumber.body)).toBe(text(byName.body));
    expect(text(byNumber.body)).toContain(`"keyDetails":"${name}"`);
  });

  it('refuses numbers of refused, unknown or non-integer values with the reason', () => {
    expect(refusal(() => admitCreateEntry(withKeyDetails(7), opts))).toMatch(
      /^keyDetails PKIX_ED25519: pure Ed25519/,
    );
    expect(refusal(() => admitCreateEntry(withKeyDetails(16), opts))).toMatch(/RSA-PSS/);
    expect(refusal(() => admitCreateEntry(withKeyDetails(0), opts))).toBe(
      'keyDetails "0" is not supported',
    );
    expect(refusal(() => admitCreateEntry(withKeyDetails(99), opts))).toMatch(/not supported/);
    for (const bad of [5.5, 2 ** 31, -(2 ** 31) - 1, true, {}, []]) {
      expect(refusal(() => admitCreateEntry(withKeyDetails(bad), opts))).toBe(
        'verifier.keyDetails must be an enum name or number',
      );
    }
    // A number in a string is neither a name nor a number.
    expect(refusal(() => admitCreateEntry(withKeyDetails('5'), opts))).toMatch(/not supported/);
  });
});

describe('duplicate JSON keys', () => {
  it('refuses a key given twice, naming it, at any depth and however it is escaped', () => {
    expect(refusal(() => parseJson(utf8('{"a":1,"a":2}')))).toBe(
      'malformed JSON: duplicate key "a"',
    );
    expect(refusal(() => parseJson(utf8('{"x":[{"b":{},"c":1,"\\u0063":2}]}')))).toMatch(
      /duplicate key "c"/,
    );
    expect(refusal(() => parseJson(utf8('{"__proto__":1,"__proto__":2}')))).toMatch(
      /duplicate key "__proto__"/,
    );
    // The same key in sibling objects, or as a string value, is not a duplicate.
    expect(parseJson(utf8('[{"a":1},{"a":"a"},"a",{"a":{"a":["a"]}}]'))).toEqual([
      { a: 1 },
      { a: 'a' },
      'a',
      { a: { a: ['a'] } },
    ]);
    expect(parseJson(utf8('{"\\u0061b":1,"a":2}'))).toEqual({ ab: 1, a: 2 });
    expect(parseJson(utf8('{"a\\"":1,"a":2}'))).toEqual({ 'a"': 1, a: 2 });
  });

  it('reads escaped keys right after a key that V8 in Node 24 confuses them with', () => {
    // The first body leaves the map {probe} with one transition, to the key "\\"; Node 24.21's
    // JSON.parse then reads "\u0041" (and any one-character escaped key) after probe as "\\".
    JSON.parse('{"probe-7f3a":0,"\\\\":1}');
    JSON.parse('{"probe-7f3a":0,"\\\\":1}');
    for (let i = 0; i < 3; i++)
      expect(parseJson(utf8('{"probe-7f3a":0,"\\u0041":1}'))).toEqual({ 'probe-7f3a': 0, A: 1 });
  });

  it('agrees with a naive reference on random objects with repeated keys', () => {
    const node = jsonTree(['a', 'b', '\\u0061', 'é', '\\u00e9', 'ab', '\\u0061b', '\\"', '\\\\']);
    fc.assert(
      fc.property(node, (n) => {
        const src = writeTree(n);
        let refused = false;
        try {
          expect(parseJson(utf8(src))).toEqual(treeValue(n));
        } catch (e) {
          if (!(e instanceof LogError)) throw e;
          refused = true;
        }
        expect(refused).toBe(hasRepeatedKey(n));
      }),
      { numRuns: 2000 },
    );
  });

  it('is answered 400 over HTTP, naming the key, and appends nothing', async () => {
    const signer = parseSignerKey(generateSignerKey('dup.example.test'));
    const log = await Log.open(new MemoryStore(), {
      origin: 'dup.example.test',
      signer,
      maxAgeMs: 1,
    });
    const app = createApp(log);
    const good = JSON.stringify(request(makeSigner('PKIX_ECDSA_P256_SHA_256'), utf8('x')));
    const dup = good.replace('{"digest":', '{"digest":"AAAA","digest":');
    expect(dup).not.toBe(good);
    const res = await app.request('/api/v2/log/entries', { method: 'POST', body: dup });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe(
      'malformed JSON: duplicate key "digest"',
    );
    expect(log.state.checkpoint.size).toBe(0);
    const ok = await app.request('/api/v2/log/entries', { method: 'POST', body: good });
    expect(ok.status).toBe(201);
  });
});
