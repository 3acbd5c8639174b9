// A real client as the oracle: bundles made from our 201 responses, with a trusted root from our
// trust material, must verify with @sigstore/verify, for every algorithm it can check artifacts
// for, and at log sizes around tile boundaries.
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { KEY_DETAILS, type KeyDetails } from '../../src/entries/index.ts';
import { ALGORITHMS } from '../../src/entries/index.ts';
import { trustMaterial } from '../../src/entries/trust.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { makeSigner, request, type TestSigner } from '../helpers/signers.ts';

const ORIGIN = 'log.example.test';
const BASE = `https://${ORIGIN}`;

async function setup() {
  const signer = parseSignerKey(generateSignerKey(ORIGIN));
  const log = await Log.open(new MemoryStore(), {
    origin: ORIGIN,
    signer,
    maxAgeMs: 1,
    maxBatch: 8192,
  });
  const app = createApp(log, { personality: 'rekor' });
  const { tlog } = trustMaterial(BASE, signer, new Date('2020-01-01T00:00:00Z'));
  return { log, app, tlog };
}

function verifier(tlog: object, s: TestSigner) {
  const trust = toTrustMaterial(
    TrustedRoot.fromJSON({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [tlog],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    }),
    { 'artifact-key': { rawBytes: Buffer.from(s.spki), keyDetails: s.keyDetails } } as never,
  );
  return new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 });
}

function bundle(s: TestSigner, artifact: Uint8Array, entry: unknown) {
  return bundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: 'artifact-key' }, tlogEntries: [entry] },
    messageSignature: {
      messageDigest: {
        algorithm: ALGORITHMS[s.keyDetails].hash,
        digest: Buffer.from(s.digest(artifact)).toString('base64'),
      },
      signature: Buffer.from(s.sign(artifact)).toString('base64'),
    },
  });
}

async function post(app: ReturnType<typeof createApp>, body: unknown) {
  return app.request('/api/v2/log/entries', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });
}

// sigstore-js checks artifact signatures with crypto.verify(hash, artifact, key), which Node
// refuses for Ed25519 keys with a hash: Ed25519ph bundles cannot be verified by it at all.
const CLIENT_CHECKABLE = KEY_DETAILS.filter((k) => k !== 'PKIX_ED25519_PH');

describe('@sigstore/verify accepts what the Rekor v2 API returns', () => {
  it.each(CLIENT_CHECKABLE)('verifies a %s bundle', async (kd: KeyDetails) => {
    const { app, tlog } = await setup();
    const s = makeSigner(kd);
    const artifact = new TextEncoder().encode(`signed with ${kd}`);
    // The signature in the bundle must be the one logged: sign once and reuse it.
    const sig = s.sign(artifact);
    const fixed = { ...s, sign: () => sig };
    const res = await post(app, request(fixed, artifact));
    expect(res.status).toBe(201);
    const entry = (await res.json()) as any;
    expect(entry).toMatchObject({
      integratedTime: '0',
      inclusionPromise: null,
      kindVersion: { kind: 'hashedrekord', version: '0.0.2' },
    });
    expect(entry.logId.keyId).toBe(tlog.logId.keyId);
    verifier(tlog, fixed).verify(
      toSignedEntity(bundle(fixed, artifact, entry), Buffer.from(artifact)),
    );
    // A tampered artifact fails.
    expect(() =>
      verifier(tlog, fixed).verify(
        toSignedEntity(bundle(fixed, artifact, entry), Buffer.from('tampered')),
      ),
    ).toThrow();
  });

  it.each([1, 255, 256, 257, 70_000])(
    'verifies the last entry of a log of size %i',
    async (size) => {
      const { app, log, tlog } = await setup();
      const filler = Array.from({ length: size - 1 }, (_, i) =>
        new TextEncoder().encode(`filler ${i}`),
      );
      for (let i = 0; i < filler.length; i += 8192)
        await Promise.all(filler.slice(i, i + 8192).map((f) => log.add(f)));
      const s = makeSigner('PKIX_ECDSA_P256_SHA_256');
      const artifact = new TextEncoder().encode(`entry at ${size - 1}`);
      const sig = s.sign(artifact);
      const fixed = { ...s, sign: () => sig };
      const res = await post(app, request(fixed, artifact));
      const entry = (await res.json()) as any;
      expect(entry.logIndex).toBe(String(size - 1));
      verifier(tlog, fixed).verify(
        toSignedEntity(bundle(fixed, artifact, entry), Buffer.from(artifact)),
      );
      if (entry.inclusionProof.hashes.length > 0) {
        const h = Buffer.from(entry.inclusionProof.hashes[0], 'base64');
        h[0]! ^= 1;
        const bad = {
          ...entry,
          inclusionProof: {
            ...entry.inclusionProof,
            hashes: [h.toString('base64'), ...entry.inclusionProof.hashes.slice(1)],
          },
        };
        expect(() =>
          verifier(tlog, fixed).verify(
            toSignedEntity(bundle(fixed, artifact, bad), Buffer.from(artifact)),
          ),
        ).toThrow(/root hash/);
      }
    },
    60_000,
  );

  it('answers a duplicate with 409 and x-log-index, and bad requests with a grpc-gateway status', async () => {
    const { app } = await setup();
    const s = makeSigner('PKIX_ECDSA_P256_SHA_256');
    const artifact = new TextEncoder().encode('dup');
    const sig = s.sign(artifact);
    const req = request({ ...s, sign: () => sig }, artifact);
    expect((await post(app, req)).status).toBe(201);
    const dup = await post(app, req);
    expect(dup.status).toBe(409);
    expect(dup.headers.get('x-log-index')).toBe('0');
    const bad = await post(app, {
      hashedRekordRequestV002: { ...req.hashedRekordRequestV002, digest: 'AAAA' },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      code: 3,
      message: 'digest length 3 does not match SHA2_256 (32 bytes)',
      details: [],
    });
    const malformed = await app.request('/api/v2/log/entries', {
      method: 'POST',
      body: '{"hashedRekordRequestV002":',
    });
    expect(malformed.status).toBe(400);
    const huge = await app.request('/api/v2/log/entries', {
      method: 'POST',
      body: 'x'.repeat((4 << 20) + 1),
    });
    expect(huge.status).toBe(413);
  });
});

describe('frozen log', () => {
  it("publishes a final checkpoint with the freeze line and answers writes with rekor-tiles' 405", async () => {
    const { app, log } = await setup();
    await log.add(new TextEncoder().encode('before the freeze'));
    await log.freeze(new Date(Date.UTC(2026, 0, 2, 15, 4, 5)));
    const cp = await (await app.request('/api/v2/checkpoint')).text();
    expect(cp.split('\n').slice(0, 4)).toEqual([
      ORIGIN,
      '1',
      expect.any(String),
      'Log frozen \u2014 Fri Jan  2 15:04:05 UTC 2026',
    ]);
    const s = makeSigner('PKIX_ECDSA_P256_SHA_256');
    const res = await post(app, request(s, new TextEncoder().encode('after')));
    expect(res.status).toBe(405);
    expect(await res.text()).toBe('This log has been frozen, please switch to the latest log.\n');
    expect((await app.request('/api/v2/add', { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await app.request('/api/v2/tile/entries/000.p/1')).status).toBe(200);
  });
});
