// The signing client against a real log over HTTP, with real keys of every algorithm the log
// admits; tilelog's verify-bundle and @sigstore/verify are the oracles for the bundles.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ed25519ph } from '@noble/curves/ed25519.js';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { digest } from '../../src/crypto.ts';
import { KEY_DETAILS, type KeyDetails } from '../../src/entries/index.ts';
import { LogError } from '../../src/errors.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { type ArtifactSigner } from '../../src/sign/client.ts';
import {
  generateSigningKey,
  keyHint,
  logKeyFromVkey,
  logKeysFromTrustedRoot,
  parseSigningKey,
  signAndLog,
} from '../../src/sign/index.ts';
import { verifyBundle } from '../../src/verify/index.ts';
import { startLog, type TestLog } from './log.ts';

const HASH = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' } as const;

function sigstoreVerify(bundle: unknown, publicPem: string, t: TestLog, artifact: Uint8Array) {
  const b = bundle as { verificationMaterial: { publicKey: { hint: string } } };
  const spki = createPublicKey(publicPem).export({ format: 'der', type: 'spki' });
  const trust = toTrustMaterial(TrustedRoot.fromJSON(t.trustedRoot), {
    [b.verificationMaterial.publicKey.hint]: { rawBytes: spki },
  } as never);
  const v = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 });
  v.verify(toSignedEntity(bundleFromJSON(bundle), Buffer.from(artifact)));
}

async function sign(
  t: TestLog,
  signer: ArtifactSigner,
  artifact: Uint8Array,
  fetch?: typeof globalThis.fetch,
) {
  return signAndLog({
    url: t.baseUrl,
    signer,
    digest: digest(signer.hashAlgorithm, artifact),
    logKeys: [logKeyFromVkey(t.vkey)],
    fetch,
  });
}

describe('tilelog sign: every algorithm the log admits', () => {
  let t: TestLog;
  beforeAll(async () => {
    t = await startLog();
  });
  afterAll(() => t.close());

  it.each(KEY_DETAILS)(
    '%s: a bundle that verify-bundle and @sigstore/verify accept',
    async (kd: KeyDetails) => {
      const pair = generateSigningKey(kd);
      const signer = parseSigningKey(pair.privatePem);
      expect(signer.keyDetails).toBe(kd);
      const artifact = new TextEncoder().encode(`an artifact signed with ${kd}`);
      const { bundle, entry } = await sign(t, signer, artifact);
      expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
      expect(bundle.verificationMaterial.publicKey.hint).toBe(keyHint(signer.publicKey));
      expect(entry.checkpoint.origin).toBe(t.signer.name);

      const ok = verifyBundle(bundle, t.trustedRoot, artifact);
      expect(ok.reason).toBeUndefined();
      expect(ok.valid).toBe(true);
      expect(verifyBundle(bundle, t.trustedRoot, new TextEncoder().encode('other')).valid).toBe(
        false,
      );

      // The signature is a real signature over the artifact, checked by independent code.
      const sig = Buffer.from(bundle.messageSignature.signature, 'base64');
      if (kd === 'PKIX_ED25519_PH') {
        const raw = createPublicKey(pair.publicPem).export({ format: 'jwk' }).x!;
        expect(ed25519ph.verify(sig, artifact, Buffer.from(raw, 'base64url'))).toBe(true);
        return; // @sigstore/verify cannot check Ed25519ph (it asks Node for Ed25519 with a hash)
      }
      expect(nodeVerify(HASH[signer.hashAlgorithm], artifact, pair.publicPem, sig)).toBe(true);
      sigstoreVerify(bundle, pair.publicPem, t, artifact);
      expect(() =>
        sigstoreVerify(bundle, pair.publicPem, t, new TextEncoder().encode('x')),
      ).toThrow();
    },
  );

  it('makes a new entry each time an ECDSA key signs the same file (hedged signatures)', async () => {
    const signer = parseSigningKey(generateSigningKey().privatePem);
    const artifact = new TextEncoder().encode('twice');
    const a = await sign(t, signer, artifact);
    const b = await sign(t, signer, artifact);
    expect(b.entry.logIndex).not.toBe(a.entry.logIndex);
  });

  it('proves a deterministic signature already in the log (409) from the tiles', async () => {
    for (const kd of ['PKIX_ED25519_PH', 'PKIX_RSA_PKCS1V15_2048_SHA256'] as const) {
      const pair = generateSigningKey(kd);
      const signer = parseSigningKey(pair.privatePem);
      const artifact = new TextEncoder().encode(`signed twice with ${kd}`);
      const first = await sign(t, signer, artifact);
      await t.log.add(new TextEncoder().encode(`a later entry after ${kd}`));
      const again = await sign(t, signer, artifact);
      expect(again.entry.logIndex).toBe(first.entry.logIndex);
      expect(again.entry.checkpoint.size).toBeGreaterThan(first.entry.checkpoint.size);
      expect(verifyBundle(again.bundle, t.trustedRoot, artifact).valid).toBe(true);
      if (kd !== 'PKIX_ED25519_PH') sigstoreVerify(again.bundle, pair.publicPem, t, artifact);
    }
  });

  it('takes the log key from a TrustedRoot, choosing among rotated keys by logId', async () => {
    const pair = generateSigningKey();
    const signer = parseSigningKey(pair.privatePem);
    const another = await startLog();
    const other = another.tlog; // another key, listed under this log's URL too
    await another.close();
    const root = {
      ...t.trustedRoot,
      tlogs: [{ ...other, baseUrl: `${t.baseUrl}/` }, t.tlog],
    };
    const logKeys = logKeysFromTrustedRoot(root, t.baseUrl, new Date());
    expect(logKeys).toHaveLength(2);
    const artifact = new TextEncoder().encode('trusted root');
    const { bundle } = await signAndLog({
      url: `${t.baseUrl}/`,
      signer,
      digest: digest('SHA2_256', artifact),
      logKeys,
    });
    expect(verifyBundle(bundle, t.trustedRoot, artifact).valid).toBe(true);
    sigstoreVerify(bundle, pair.publicPem, t, artifact);
    // Only the other key: the answer's logId is not trusted, and nothing is returned.
    await expect(
      signAndLog({
        url: t.baseUrl,
        signer,
        digest: digest('SHA2_256', artifact),
        logKeys: [logKeys[0]!],
      }),
    ).rejects.toThrow(/logId .* is not a trusted key of this log/);
  });

  it('refuses TrustedRoots that do not name a usable key for the URL', () => {
    const now = new Date();
    const pk = t.tlog.publicKey;
    const with_ = (tlog: object) => ({ tlogs: [{ ...t.tlog, ...tlog }] });
    expect(() => logKeysFromTrustedRoot({ tlogs: [t.tlog] }, 'http://elsewhere', now)).toThrow(
      `trusted root lists no log at http://elsewhere (it lists: ${t.baseUrl})`,
    );
    expect(() => logKeysFromTrustedRoot({}, t.baseUrl, now)).toThrow('trusted root has no tlogs[]');
    expect(() =>
      logKeysFromTrustedRoot(with_({ publicKey: { ...pk, validFor: {} } }), t.baseUrl, now),
    ).toThrow(/no usable key .*: the key has no validFor.start/);
    expect(() =>
      logKeysFromTrustedRoot(
        with_({ publicKey: { ...pk, validFor: { start: '2999-01-01T00:00:00Z' } } }),
        t.baseUrl,
        now,
      ),
    ).toThrow(/valid from 2999-01-01T00:00:00Z to no end, not now/);
    expect(() =>
      logKeysFromTrustedRoot(
        with_({
          publicKey: {
            ...pk,
            validFor: { start: '2020-01-01T00:00:00Z', end: '2021-01-01T00:00:00Z' },
          },
        }),
        t.baseUrl,
        now,
      ),
    ).toThrow(/not now/);
    expect(() =>
      logKeysFromTrustedRoot(
        with_({ publicKey: { ...pk, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } }),
        t.baseUrl,
        now,
      ),
    ).toThrow(/is not Ed25519/);
    expect(() =>
      logKeysFromTrustedRoot(with_({ publicKey: { ...pk, rawBytes: 'AAAA' } }), t.baseUrl, now),
    ).toThrow(/not an Ed25519 SubjectPublicKeyInfo/);
  });
});

describe('tilelog sign: refusals and answers that do not verify', () => {
  let t: TestLog;
  beforeAll(async () => {
    t = await startLog({ allowedKeyDetails: ['PKIX_ECDSA_P256_SHA_256'] });
  });
  afterAll(() => t.close());

  it("fails with the log's one-line reason when the log does not allow the key's algorithm", async () => {
    const before = t.log.state.checkpoint.size;
    const signer = parseSigningKey(generateSigningKey('PKIX_ECDSA_P384_SHA_384').privatePem);
    const err = await sign(t, signer, new TextEncoder().encode('p384')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogError);
    expect((err as LogError).code).toBe('bad_request');
    expect((err as LogError).message).toBe(
      'the log refused the entry (400): keyDetails PKIX_ECDSA_P384_SHA_384 is not allowed by this log',
    );
    expect(t.log.state.checkpoint.size).toBe(before);
  });

  it('refuses a checkpoint signed by another key of the same name', async () => {
    const signer = parseSigningKey(generateSigningKey().privatePem);
    const sameName = parseSignerKey(generateSignerKey(t.signer.name)).verifierKey;
    await expect(
      signAndLog({
        url: t.baseUrl,
        signer,
        digest: digest('SHA2_256', new TextEncoder().encode('wrong key')),
        logKeys: [{ ...logKeyFromVkey(sameName), logId: logKeyFromVkey(t.vkey).logId }],
      }),
    ).rejects.toThrow(/does not verify: checkpoint: note: note has no verifiable signatures/);
  });

  it('gives up on a log that does not answer, or cannot be reached, in one line', async () => {
    const signer = parseSigningKey(generateSigningKey().privatePem);
    const hang = createServer(() => {}); // reads the request, never answers
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const port = (hang.address() as AddressInfo).port;
    const d = digest('SHA2_256', new TextEncoder().encode('hang'));
    const logKeys = [logKeyFromVkey(t.vkey)];
    const err = await signAndLog({
      url: `http://127.0.0.1:${port}`,
      signer,
      digest: d,
      logKeys,
      timeoutMs: 300,
    }).catch((e: unknown) => e);
    hang.closeAllConnections();
    hang.close();
    expect(err).toBeInstanceOf(LogError);
    expect((err as LogError).code).toBe('unavailable');
    expect((err as LogError).message).toBe(
      `POST http://127.0.0.1:${port}/api/v2/log/entries: no answer within 0.3 s`,
    );
    const refused = await signAndLog({
      url: `http://127.0.0.1:${port}`,
      signer,
      digest: d,
      logKeys,
    }).catch((e: unknown) => e);
    expect((refused as LogError).code).toBe('unavailable');
    expect((refused as LogError).message).toMatch(/ECONNREFUSED/);
    expect((refused as LogError).message).not.toContain('\n');
  });

  // A log (or something between) that answers 201 with something else: each is refused.
  const tamper: [string, (e: Record<string, any>) => void, RegExp][] = [
    [
      'a different body',
      (e) => (e.canonicalizedBody = flip(e.canonicalizedBody)),
      /canonicalizedBody is not the entry/,
    ],
    [
      'a bad proof hash',
      (e) => (e.inclusionProof.hashes[0] = flip(e.inclusionProof.hashes[0])),
      /inclusion proof/,
    ],
    ['a missing proof hash', (e) => e.inclusionProof.hashes.pop(), /inclusion proof/],
    ['another index', (e) => (e.logIndex = e.inclusionProof.logIndex = '0'), /inclusion proof/],
    ['a non-canonical index', (e) => (e.logIndex = `0${e.logIndex}`), /logIndex is not a decimal/],
    [
      'a forged checkpoint',
      (e) =>
        (e.inclusionProof.checkpoint.envelope = e.inclusionProof.checkpoint.envelope.replace(
          /\n(\d+)\n/,
          (_: string, n: string) => `\n${Number(n) + 1}\n`,
        )),
      /checkpoint: note: invalid signature/,
    ],
    [
      'a rootHash not the checkpoint root',
      (e) => (e.inclusionProof.rootHash = flip(e.inclusionProof.rootHash)),
      /rootHash is not/,
    ],
    [
      'a treeSize not the checkpoint size',
      (e) => (e.inclusionProof.treeSize = '999'),
      /treeSize is not/,
    ],
    [
      'another logId',
      (e) => (e.logId.keyId = flip(e.logId.keyId)),
      /logId .* is not a trusted key/,
    ],
    ['another kind', (e) => (e.kindVersion.kind = 'dsse'), /kindVersion/],
  ];
  it.each(tamper)('refuses an answer with %s, and returns no bundle', async (_, mutate, reason) => {
    const signer = parseSigningKey(generateSigningKey().privatePem);
    // Two entries first, so the proof of the new one is not empty.
    await Promise.all([
      t.log.add(new TextEncoder().encode('a')),
      t.log.add(new TextEncoder().encode('b')),
    ]);
    const tampering: typeof globalThis.fetch = async (url, init) => {
      const res = await fetch(url, init);
      const e = (await res.json()) as Record<string, any>;
      mutate(e);
      return new Response(JSON.stringify(e), { status: res.status });
    };
    const err = await sign(t, signer, new TextEncoder().encode(`tampered ${_}`), tampering).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LogError);
    expect((err as LogError).code).toBe('corrupt');
    expect((err as LogError).message).toMatch(reason);
  });
});

function flip(b64: string): string {
  const b = Buffer.from(b64, 'base64');
  b[b.length - 1]! ^= 1;
  return b.toString('base64');
}
