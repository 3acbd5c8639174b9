// The check of the log's answer, as a property over mutated real answers: whatever is changed in
// a 201 answer, either the check refuses it with a 'corrupt' LogError, or it yields exactly the
// entry of the unmodified answer (a change that does not change meaning, e.g. base64 spelling).
// Also: keys the log cannot admit, and that the client part of sign/ stays free of Node.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { digest } from '../../src/crypto.ts';
import { LogError } from '../../src/errors.ts';
import {
  checkLogEntry,
  createEntryRequest,
  expectedBody,
  type Signature,
  tlogEntryJson,
} from '../../src/sign/entry.ts';
import { generateSigningKey, logKeyFromVkey, parseSigningKey } from '../../src/sign/index.ts';
import { verifyBundle } from '../../src/verify/index.ts';
import { startLog, type TestLog } from './log.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// mutate replaces the value at one path of a JSON tree (chosen by `pick`) with `value`.
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [at];
  const kids = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [at, ...kids.flatMap((k) => paths((v as Record<string, Json>)[k]!, [...at, k]))];
}

function setAt(v: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
  const [k, ...rest] = path;
  if (rest.length === 0 && value === undefined) {
    if (Array.isArray(copy)) copy.splice(k as number, 1);
    else delete copy[k!];
  } else copy[k!] = setAt(copy[k!], rest, value);
  return copy;
}

const flipBase64 = (s: string, bit: number) => {
  const b = Buffer.from(s, 'base64');
  if (b.length === 0) return 'AA==';
  b[bit % b.length]! ^= 1 << (bit % 8);
  return b.toString('base64');
};

describe("the log's answer", () => {
  let t: TestLog;
  let answer: Json;
  let s: Signature;
  beforeAll(async () => {
    t = await startLog();
    for (let i = 0; i < 5; i++) await t.log.add(new TextEncoder().encode(`filler ${i}`));
    const signer = parseSigningKey(generateSigningKey().privatePem);
    const d = digest('SHA2_256', new TextEncoder().encode('the artifact'));
    s = { ...signer, digest: d, signature: await signer.signDigest(d) };
    const res = await fetch(`${t.baseUrl}/api/v2/log/entries`, {
      method: 'POST',
      body: JSON.stringify(createEntryRequest(s)),
    });
    expect(res.status).toBe(201);
    answer = (await res.json()) as Json;
  });
  afterAll(() => t.close());

  it('verifies the real answer, and its canonical form is a bundle entry verify-bundle accepts', () => {
    const e = checkLogEntry(answer, expectedBody(s), [logKeyFromVkey(t.vkey)]);
    expect(e.logIndex).toBe(5);
    const entry = tlogEntryJson(e);
    const { inclusionPromise, ...rest } = answer as Record<string, Json>;
    expect(inclusionPromise).toBeNull();
    expect(entry).toEqual(rest); // tilelog's answer is already canonical
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: 'k' }, tlogEntries: [entry] },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: Buffer.from(s.digest).toString('base64') },
        signature: Buffer.from(s.signature).toString('base64'),
      },
    };
    expect(verifyBundle(bundle, t.trustedRoot).valid).toBe(true);
  });

  it('refuses every mutation that changes meaning, and ignores the rest', () => {
    const keys = [logKeyFromVkey(t.vkey)];
    const good = tlogEntryJson(checkLogEntry(answer, expectedBody(s), keys));
    const all = paths(answer);
    const replacement = fc.oneof(
      fc.constant(undefined), // drop it
      fc.constant(null),
      fc.integer(),
      fc.string(),
      fc.constantFrom('0', '5', '6', '-1', '05', 'hashedrekord', '0.0.2', 'dsse'),
      fc.nat().map((bit) => ({ flip: bit })), // flip a bit of a base64 field
      fc.constantFrom('url-safe', 'unpadded'), // respell a base64 field
    );
    fc.assert(
      fc.property(fc.nat(all.length - 1), replacement, (i, r) => {
        const path = all[i]!;
        const old = path.reduce<any>((v, k) => v[k], answer);
        let value: Json | undefined;
        if (r === 'url-safe' || r === 'unpadded') {
          if (typeof old !== 'string') return;
          value =
            r === 'url-safe' ? old.replace(/\+/g, '-').replace(/\//g, '_') : old.replace(/=+$/, '');
        } else if (r !== null && typeof r === 'object') {
          if (typeof old !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(old)) return;
          value = flipBase64(old, r.flip);
        } else value = r as Json | undefined;
        const mutated = setAt(answer, path, value);
        let got;
        try {
          got = checkLogEntry(mutated, expectedBody(s), keys);
        } catch (err) {
          expect(err).toBeInstanceOf(LogError);
          expect((err as LogError).code).toBe('corrupt');
          expect((err as LogError).message).not.toContain('\n');
          return;
        }
        expect(tlogEntryJson(got)).toEqual(good);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('signing keys', () => {
  it('derives keyDetails from the key, and refuses keys no Rekor v2 log admits', () => {
    const pem = (k: ReturnType<typeof generateKeyPairSync>) =>
      k.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const refused: [string, string][] = [
      [pem(generateKeyPairSync('rsa', { modulusLength: 1024 })), 'a RSA-1024 key'],
      [pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' })), 'a EC secp256k1 key'],
      [pem(generateKeyPairSync('ed448')), 'a ed448 key'],
      [pem(generateKeyPairSync('rsa-pss', { modulusLength: 2048 })), 'a rsa-pss key'],
    ];
    for (const [p, what] of refused) expect(() => parseSigningKey(p)).toThrow(what);
    const pub = generateSigningKey().publicPem;
    expect(() => parseSigningKey(pub)).toThrow(/not an unencrypted PEM private key/);
    fc.assert(
      fc.property(fc.string(), (junk) => {
        expect(() => parseSigningKey(junk)).toThrow(LogError);
      }),
      { numRuns: 200 },
    );
  });
});

describe('portability', () => {
  it('keeps entry.ts, trust.ts and client.ts free of Node and third-party runtime imports', () => {
    for (const f of ['entry.ts', 'trust.ts', 'client.ts']) {
      const src = readFileSync(`src/sign/${f}`, 'utf8');
      for (const m of src.matchAll(/^import (type )?[^'"]*['"]([^'"]+)['"]/gm)) {
        const [, typeOnly, from] = m;
        expect(from!.startsWith('.'), `${f} imports ${from}`).toBe(true);
        // entries/ loads node:crypto; only its types may be used here.
        if (from!.includes('/entries/')) expect(typeOnly, `${f} imports ${from}`).toBe('type ');
      }
    }
  });
});
