import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { ALGORITHMS, KEY_DETAILS } from '../../src/entries/index.ts';
import { canonicalize } from '../../src/entries/jcs.ts';
import { trustMaterial } from '../../src/entries/trust.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { verifyBundle } from '../../src/verify/index.ts';
import { makeSigner, request } from '../helpers/signers.ts';

const V = 'spec-vectors';
const json = (p: string) => JSON.parse(readFileSync(`${V}/${p}`, 'utf8'));
const PROD_ROOT = json('sigstore-trust-roots/tuf-repo-cdn.sigstore.dev/trusted_root.json');
const STAGING_ROOT = json('sigstore-trust-roots/tuf-repo-cdn.sigstage.dev/trusted_root.json');
const HR = json('sigstore-sigstore-js/prod-log2025-1_hashedrekord-0.0.2_bundle.sigstore.json');
const DSSE = json('sigstore-sigstore-js/prod-log2025-1_dsse-0.0.2_bundle.sigstore.json');
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe('verifyBundle on production log2025-1 data', () => {
  it('verifies the hashedrekord and dsse bundles against the production trusted root', () => {
    for (const b of [HR, DSSE]) {
      const r = verifyBundle(b, PROD_ROOT);
      expect(r.reason).toBeUndefined();
      expect(r.valid).toBe(true);
      expect(r.checks).toHaveLength(5);
    }
  });

  it('refuses them against a root without that log, or with a tampered body, proof, signature or digest', () => {
    expect(verifyBundle(HR, STAGING_ROOT)).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/no trusted log/),
    });
    const cases: [string, (b: any) => void, RegExp][] = [
      [
        'body',
        (b) => {
          const e = b.verificationMaterial.tlogEntries[0];
          e.canonicalizedBody = Buffer.from(
            Buffer.from(e.canonicalizedBody, 'base64').toString().replace('SHA2_256', 'SHA2_384'),
          ).toString('base64');
        },
        /inclusion proof fails/,
      ],
      [
        'proof',
        (b) => {
          const p = b.verificationMaterial.tlogEntries[0].inclusionProof;
          p.hashes = p.hashes.slice(1);
        },
        /inclusion proof fails/,
      ],
      [
        'index',
        (b) => {
          b.verificationMaterial.tlogEntries[0].inclusionProof.logIndex = '547660';
        },
        /inclusion proof fails/,
      ],
      [
        'checkpoint',
        (b) => {
          const p = b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
          p.envelope = p.envelope.replace('547662', '547663');
        },
        /checkpoint does not verify/,
      ],
      [
        'signature',
        (b) => {
          b.messageSignature.signature = Buffer.alloc(70).toString('base64');
        },
        /not the bundle's signature/,
      ],
      [
        'digest',
        (b) => {
          b.messageSignature.messageDigest.digest = Buffer.alloc(32).toString('base64');
        },
        /not the bundle's message digest/,
      ],
      [
        'kindVersion',
        (b) => {
          b.verificationMaterial.tlogEntries[0].kindVersion.version = '0.0.1';
        },
        /does not match the body/,
      ],
      [
        'logId',
        (b) => {
          b.verificationMaterial.tlogEntries[0].logId.keyId = Buffer.alloc(32).toString('base64');
        },
        /logId/,
      ],
      [
        'no entries',
        (b) => {
          b.verificationMaterial.tlogEntries = [];
        },
        /no tlog entries/,
      ],
    ];
    for (const [name, mutate, want] of cases) {
      const b = clone(HR);
      mutate(b);
      const r = verifyBundle(b, PROD_ROOT);
      expect(r.valid, name).toBe(false);
      expect(r.reason, name).toMatch(want);
    }
    const wrongCert = clone(DSSE);
    wrongCert.verificationMaterial.certificate = HR.verificationMaterial.certificate;
    expect(verifyBundle(wrongCert, PROD_ROOT).reason).toMatch(/certificate is not the bundle's/);
    const wrongPayload = clone(DSSE);
    wrongPayload.dsseEnvelope.payload = Buffer.from('other').toString('base64');
    expect(verifyBundle(wrongPayload, PROD_ROOT).reason).toMatch(/payload hash/);
  });

  it('never throws on junk input', () => {
    for (const junk of [null, 1, 'x', [], {}, { verificationMaterial: { tlogEntries: [{}] } }]) {
      expect(verifyBundle(junk, PROD_ROOT).valid).toBe(false);
      expect(verifyBundle(HR, junk).valid).toBe(false);
    }
  });
});

describe('verifyBundle on bundles from our own log', () => {
  const ORIGIN = 'log.example.test';
  const signer = parseSignerKey(generateSignerKey(ORIGIN));
  const root = { tlogs: [trustMaterial(`https://${ORIGIN}`, signer, new Date(0)).tlog] };

  it.each(KEY_DETAILS)('verifies a %s entry with the artifact', async (kd) => {
    const log = await Log.open(new MemoryStore(), { origin: ORIGIN, signer, maxAgeMs: 1 });
    const app = createApp(log);
    const s = makeSigner(kd);
    const artifact = new TextEncoder().encode(`artifact ${kd}`);
    const sig = s.sign(artifact);
    const fixed = { ...s, sign: () => sig };
    const res = await app.request('/api/v2/log/entries', {
      method: 'POST',
      body: JSON.stringify(request(fixed, artifact)),
    });
    const entry = await res.json();
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { publicKey: { hint: 'k' }, tlogEntries: [entry] },
      messageSignature: {
        messageDigest: {
          algorithm: ALGORITHMS[kd].hash,
          digest: Buffer.from(s.digest(artifact)).toString('base64'),
        },
        signature: Buffer.from(sig).toString('base64'),
      },
    };
    expect(verifyBundle(bundle, root, artifact)).toMatchObject({ valid: true });
    expect(verifyBundle(bundle, root, new TextEncoder().encode('other')).reason).toMatch(
      /artifact does not hash/,
    );
  });

  it('names an unknown entry kind', async () => {
    const log = await Log.open(new MemoryStore(), { origin: ORIGIN, signer, maxAgeMs: 1 });
    const body = new TextEncoder().encode(
      canonicalize({ apiVersion: '0.0.1', kind: 'intoto', spec: {} }),
    );
    const r = await log.add(body);
    const hashes = await log.reader.proveInclusion(r.index, r.size);
    const entry = {
      logIndex: String(r.index),
      inclusionProof: {
        logIndex: String(r.index),
        hashes: hashes.map((h) => Buffer.from(h).toString('base64')),
        checkpoint: { envelope: r.note },
      },
      canonicalizedBody: Buffer.from(body).toString('base64'),
    };
    const v = verifyBundle({ verificationMaterial: { tlogEntries: [entry] } }, root);
    expect(v.reason).toMatch(/unsupported entry kind "intoto" version "0.0.1"/);
  });
});
