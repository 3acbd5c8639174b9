// Whole TrustedRoot and SigningConfig documents: built fresh, merged into the production Sigstore
// documents, and rotated; @sigstore/verify (and protobuf-specs' own JSON codec) as the oracle.
import { readFileSync } from 'node:fs';

import { bundleFromJSON } from '@sigstore/bundle';
import { SigningConfig, TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { endLog, type LogTrust, PROPAGATION_MS, trustDocuments } from '../../src/entries/index.ts';
import { SIGNING_CONFIG_MEDIA_TYPE, TRUSTED_ROOT_MEDIA_TYPE } from '../../src/entries/trust.ts';
import { LogError } from '../../src/errors.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { verifyBundle } from '../../src/verify/index.ts';
import { makeSigner, request } from '../helpers/signers.ts';

const V = 'spec-vectors/sigstore-trust-roots/tuf-repo-cdn.sigstore.dev';
const PROD_ROOT = JSON.parse(readFileSync(`${V}/trusted_root.json`, 'utf8'));
const PROD_CONFIG = JSON.parse(readFileSync(`${V}/signing_config.v0.2.json`, 'utf8'));
const PROD_HR = JSON.parse(
  readFileSync(
    'spec-vectors/sigstore-sigstore-js/prod-log2025-1_hashedrekord-0.0.2_bundle.sigstore.json',
    'utf8',
  ),
);
const FROM = new Date('2026-01-01T00:00:00Z');

/** shard runs a log and returns its trust description and a bundle of one entry in it. */
async function shard(origin: string, from = FROM) {
  const signer = parseSignerKey(generateSignerKey(origin));
  const log = await Log.open(new MemoryStore(), { origin, signer, maxAgeMs: 1 });
  const s = makeSigner('PKIX_ECDSA_P256_SHA_256');
  const artifact = new TextEncoder().encode(`artifact in ${origin}`);
  const sig = s.sign(artifact);
  const fixed = { ...s, sign: () => sig };
  const res = await createApp(log, { personality: 'rekor' }).request('/api/v2/log/entries', {
    method: 'POST',
    body: JSON.stringify(request(fixed, artifact)),
  });
  expect(res.status).toBe(201);
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: 'artifact-key' }, tlogEntries: [await res.json()] },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: Buffer.from(s.digest(artifact)).toString('base64'),
      },
      signature: Buffer.from(sig).toString('base64'),
    },
  };
  const trust: LogTrust = {
    baseUrl: `https://${origin}`,
    signer,
    operator: 'example.test',
    keyValidFrom: from,
    signingValidFrom: new Date(from.getTime() + PROPAGATION_MS),
  };
  // @sigstore/verify checks a bundle against a trusted root; the artifact key is the hint.
  const sigstoreVerify = (root: object) => {
    const material = toTrustMaterial(TrustedRoot.fromJSON(root), {
      'artifact-key': { rawBytes: Buffer.from(s.spki), keyDetails: s.keyDetails },
    } as never);
    new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
      toSignedEntity(bundleFromJSON(bundle), Buffer.from(artifact)),
    );
  };
  return { trust, bundle, artifact, sigstoreVerify };
}

describe('trust documents for one log', () => {
  it('are complete, load in @sigstore/verify, and survive protobuf-specs JSON unchanged', async () => {
    const a = await shard('log2026-1.example.test');
    const { trustedRoot, signingConfig } = trustDocuments([a.trust]);
    expect(trustedRoot.mediaType).toBe(TRUSTED_ROOT_MEDIA_TYPE);
    expect(trustedRoot.tlogs).toHaveLength(1);
    expect(trustedRoot.tlogs[0]).toMatchObject({
      baseUrl: 'https://log2026-1.example.test',
      hashAlgorithm: 'SHA2_256',
      publicKey: { keyDetails: 'PKIX_ED25519', validFor: { start: '2026-01-01T00:00:00Z' } },
      operator: 'example.test',
    });
    expect(trustedRoot.tlogs[0].checkpointKeyId).toEqual(trustedRoot.tlogs[0].logId);
    expect(signingConfig).toMatchObject({
      mediaType: SIGNING_CONFIG_MEDIA_TYPE,
      rekorTlogUrls: [
        {
          url: 'https://log2026-1.example.test',
          majorApiVersion: 2,
          validFor: { start: '2026-01-02T00:00:00Z' },
          operator: 'example.test',
        },
      ],
      rekorTlogConfig: { selector: 'ANY' },
    });
    // protobuf-specs' codec knows every field we write (it drops unknown ones).
    const root2 = TrustedRoot.toJSON(TrustedRoot.fromJSON(trustedRoot)) as typeof trustedRoot;
    expect(root2.tlogs[0]).toEqual({
      ...trustedRoot.tlogs[0],
      publicKey: {
        ...trustedRoot.tlogs[0].publicKey,
        validFor: { start: '2026-01-01T00:00:00.000Z' },
      },
    });
    const config2 = SigningConfig.toJSON(
      SigningConfig.fromJSON(signingConfig),
    ) as typeof signingConfig;
    expect(config2.rekorTlogUrls[0].operator).toBe('example.test');
    expect(config2.rekorTlogConfig).toEqual({ selector: 'ANY' });
    a.sigstoreVerify(trustedRoot);
    expect(verifyBundle(a.bundle, trustedRoot, { artifact: a.artifact }).reason).toBeUndefined();
  });

  it('refuse a bad operator, inverted windows and bad documents to merge, in one line', async () => {
    const a = await shard('log2026-1.example.test');
    const bad: [Partial<LogTrust>, object, RegExp][] = [
      [{ operator: 'https://example.test' }, {}, /is not a scheme-less URI/],
      [{ operator: '' }, {}, /is not a scheme-less URI/],
      [{ signingValidFrom: new Date(0) }, {}, /signing would start before the key is valid/],
      [{ keyValidUntil: new Date(0) }, {}, /key validity ends before it starts/],
      [{}, { trustedRoot: [] }, /^trusted root is not a JSON object$/],
      [{}, { trustedRoot: { mediaType: 'x' } }, /^trusted root mediaType "x" is not/],
      [{}, { trustedRoot: { ...PROD_ROOT, tlogs: {} } }, /^trusted root tlogs is not a list$/],
      [{}, { signingConfig: { ...PROD_CONFIG, mediaType: 'a\nb' } }, /mediaType "a\\nb"/],
    ];
    for (const [change, merge, want] of bad) {
      let err: unknown;
      try {
        trustDocuments([{ ...a.trust, ...change }], merge);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LogError);
      expect((err as LogError).message).toMatch(want);
      expect((err as LogError).message).not.toContain('\n');
    }
  });
});

describe('adding a shard to existing documents (--merge-trusted-root, --merge-signing-config)', () => {
  it('keeps the production logs and services, adds ours newest first, and everything verifies', async () => {
    const a = await shard('log2026-1.example.test');
    const docs = trustDocuments([a.trust], {
      trustedRoot: PROD_ROOT,
      signingConfig: PROD_CONFIG,
    });
    expect(docs.trustedRoot.tlogs.slice(0, -1)).toEqual(PROD_ROOT.tlogs);
    expect(docs.trustedRoot.certificateAuthorities).toEqual(PROD_ROOT.certificateAuthorities);
    expect(docs.trustedRoot.ctlogs).toEqual(PROD_ROOT.ctlogs);
    expect(docs.signingConfig.rekorTlogUrls[0].url).toBe('https://log2026-1.example.test');
    expect(docs.signingConfig.rekorTlogUrls.slice(1)).toEqual(PROD_CONFIG.rekorTlogUrls);
    expect(docs.signingConfig.caUrls).toEqual(PROD_CONFIG.caUrls);
    expect(docs.signingConfig.rekorTlogConfig).toEqual(PROD_CONFIG.rekorTlogConfig);
    // The inputs are not modified, and merging the same log again changes nothing.
    expect(PROD_ROOT.tlogs).toHaveLength(2);
    expect(trustDocuments([a.trust], docs)).toEqual(docs);
    a.sigstoreVerify(docs.trustedRoot);
    expect(verifyBundle(a.bundle, docs.trustedRoot).valid).toBe(true);
    expect(verifyBundle(PROD_HR, docs.trustedRoot).reason).toBeUndefined();
  });

  it('rotates: the old key and URL get an end, the new ones start, both shards verify', async () => {
    const a = await shard('log2026-1.example.test');
    const b = await shard('log2026-2.example.test', new Date('2026-06-01T00:00:00Z'));
    const before = trustDocuments([a.trust]);
    const rotated = trustDocuments([b.trust], before);
    const found = endLog(rotated, a.trust.baseUrl, b.trust.keyValidFrom, b.trust.signingValidFrom);
    expect(found).toEqual({ tlogs: true, services: true });
    expect(
      rotated.trustedRoot.tlogs.map(
        (t: { publicKey: { validFor: object } }) => t.publicKey.validFor,
      ),
    ).toEqual([
      { start: '2026-01-01T00:00:00Z', end: '2026-06-01T00:00:00Z' },
      { start: '2026-06-01T00:00:00Z' },
    ]);
    expect(
      rotated.signingConfig.rekorTlogUrls.map((s: { url: string; validFor: object }) => [
        s.url,
        s.validFor,
      ]),
    ).toEqual([
      ['https://log2026-2.example.test', { start: '2026-06-02T00:00:00Z' }],
      [
        'https://log2026-1.example.test',
        { start: '2026-01-02T00:00:00Z', end: '2026-06-02T00:00:00Z' },
      ],
    ]);
    for (const s of [a, b]) {
      s.sigstoreVerify(rotated.trustedRoot);
      expect(verifyBundle(s.bundle, rotated.trustedRoot).reason).toBeUndefined();
    }
  });

  it('never throws anything but a one-line LogError on mutated documents (fast-check)', async () => {
    const a = await shard('log2026-1.example.test');
    const value = fc.oneof(
      fc.constant(null),
      fc.string({ maxLength: 3 }),
      fc.integer(),
      fc.constant({}),
      fc.constant([]),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('trustedRoot', 'signingConfig'),
        fc.constantFrom(
          'mediaType',
          'tlogs',
          'ctlogs',
          'rekorTlogUrls',
          'caUrls',
          'rekorTlogConfig',
          '__proto__',
          'toString',
        ),
        value,
        (which, key, v) => {
          const doc = structuredClone(which === 'trustedRoot' ? PROD_ROOT : PROD_CONFIG);
          Object.defineProperty(doc, key, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          });
          try {
            const out = trustDocuments([a.trust], { [which]: doc });
            JSON.stringify(out);
          } catch (e) {
            expect(e).toBeInstanceOf(LogError);
            expect((e as LogError).message).toMatch(/^[^\n]+$/);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
