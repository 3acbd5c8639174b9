// verify-bundle on what current clients produce and operators publish: a DSSE envelope logged
// as hashedrekord of its PAE (client spec §4.4) with the in-toto subject check (§4.5), a log whose
// key was rotated (several keys for one origin, chosen by logId and key ID), validFor rules, and
// every refusal reason on one line. Entries come from a real log.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { trustMaterial } from '../../src/entries/trust.ts';
import { generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { pae } from '../../src/verify/index.ts';
import { verifyBundle } from '../../src/verify/index.ts';

const ORIGIN = 'dsse.example.test';
const utf8 = (s: string) => new TextEncoder().encode(s);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const artifactKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SPKI = new Uint8Array(artifactKey.publicKey.export({ format: 'der', type: 'spki' }));

function statement(artifact: Uint8Array) {
  return utf8(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'artifact.bin', digest: { sha256: sha256hex(artifact) } }],
      predicateType: 'https://example.test/predicate/v1',
      predicate: {},
    }),
  );
}

async function logWith(signer = parseSignerKey(generateSignerKey(ORIGIN))) {
  const log = await Log.open(new MemoryStore(), { origin: ORIGIN, signer, maxAgeMs: 1 });
  return { signer, app: createApp(log, { personality: 'rekor' }) };
}

/** logDsse signs an envelope, logs it as hashedrekord of SHA-256(PAE), and returns the bundle. */
async function logDsse(
  app: ReturnType<typeof createApp>,
  payload: Uint8Array,
  payloadType = 'application/vnd.in-toto+json',
) {
  const message = pae(payloadType, payload);
  const sig = new Uint8Array(sign('sha256', message, artifactKey.privateKey));
  const req = {
    hashedRekordRequestV002: {
      digest: b64(createHash('sha256').update(message).digest()),
      signature: {
        content: b64(sig),
        verifier: { publicKey: { rawBytes: b64(SPKI) }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' },
      },
    },
  };
  const res = await app.request('/api/v2/log/entries', {
    method: 'POST',
    body: JSON.stringify(req),
  });
  expect(res.status).toBe(201);
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: 'artifact-key' }, tlogEntries: [await res.json()] },
    dsseEnvelope: {
      payload: b64(payload),
      payloadType,
      signatures: [{ sig: b64(sig), keyid: '' }],
    },
  };
}

const rootOf = (...tlogs: object[]) => ({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs,
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});
const tlogOf = (signer: Parameters<typeof trustMaterial>[1], start = new Date(0)) =>
  trustMaterial(`https://${ORIGIN}`, signer, start).tlog;

describe('a DSSE envelope logged as hashedrekord (client spec §4.4)', () => {
  it('verifies, with and without the artifact', async () => {
    const { app, signer } = await logWith();
    const artifact = utf8('the attested artifact');
    const bundle = await logDsse(app, statement(artifact));
    const root = rootOf(tlogOf(signer));
    const r = verifyBundle(bundle, root);
    expect(r.reason).toBeUndefined();
    expect(r.checks.join('\n')).toMatch(/SHA2_256 of the envelope's PAE/);
    const withArtifact = verifyBundle(bundle, root, { artifact });
    expect(withArtifact.valid).toBe(true);
    expect(withArtifact.checks.join('\n')).toMatch(/subject "artifact.bin" of the in-toto/);
    // @sigstore/verify 3.1.1 is no oracle here: its DSSE content compares the logged digest
    // with SHA-256(payload), not SHA-256(PAE) as client spec §4.4 says, so it refuses these
    // bundles ("digest mismatch").
  });

  it('refuses a wrong artifact, a tampered payload, extra signatures, a non-in-toto payload', async () => {
    const { app, signer } = await logWith();
    const artifact = utf8('the attested artifact');
    const bundle = await logDsse(app, statement(artifact));
    const root = rootOf(tlogOf(signer));
    expect(verifyBundle(bundle, root, { artifact: utf8('another') }).reason).toBe(
      'tlogEntries[0]: the artifact is not a subject of the in-toto statement',
    );
    const tampered = clone(bundle);
    tampered.dsseEnvelope.payload = b64(statement(utf8('another')));
    expect(verifyBundle(tampered, root).reason).toBe(
      'tlogEntries[0]: body digest is not SHA2_256(PAE(payloadType, payload)) of the envelope',
    );
    const two = clone(bundle);
    two.dsseEnvelope.signatures.push(two.dsseEnvelope.signatures[0]!);
    expect(verifyBundle(two, root).reason).toMatch(/dsseEnvelope must have exactly one signature/);
    const plain = await logDsse(app, utf8('not a statement'), 'text/plain');
    expect(verifyBundle(plain, root).valid).toBe(true);
    expect(verifyBundle(plain, root, { artifact }).reason).toBe(
      'tlogEntries[0]: payloadType "text/plain" is not application/vnd.in-toto+json',
    );
  });

  it('names every reason on one line', async () => {
    const { app, signer } = await logWith();
    const bundle = await logDsse(app, statement(utf8('a')));
    const b = clone(bundle);
    b.dsseEnvelope.payload = b64(utf8('x'));
    b.dsseEnvelope.signatures[0]!.sig = b64(new Uint8Array(70));
    const e = b.verificationMaterial.tlogEntries[0] as { inclusionProof: { logIndex: string } };
    e.inclusionProof.logIndex = '7';
    const r = verifyBundle(b, rootOf(tlogOf(signer)), { artifact: utf8('a') });
    expect(r.reason).not.toMatch(/\n/);
    const reasons = r.reason!.split('; ');
    expect(reasons).toEqual([
      expect.stringMatching(/inclusion proof fails/),
      expect.stringMatching(/body digest is not SHA2_256/),
      "tlogEntries[0]: body signature is not the envelope's signature",
      'tlogEntries[0]: envelope payload is not JSON',
    ]);
  });
});

describe('a log whose key was rotated (several keys for one origin)', () => {
  it('verifies entries signed by either key, whatever the order of the tlogs', async () => {
    const old = await logWith();
    const fresh = await logWith();
    const b1 = await logDsse(old.app, statement(utf8('1')));
    const b2 = await logDsse(fresh.app, statement(utf8('2')));
    const oldTlog = tlogOf(old.signer, new Date('2025-01-01T00:00:00Z'));
    (oldTlog.publicKey as { validFor: object }).validFor = {
      start: '2025-01-01T00:00:00Z',
      end: '2026-01-01T00:00:00Z',
    };
    const newTlog = tlogOf(fresh.signer, new Date('2026-01-01T00:00:00Z'));
    for (const root of [rootOf(oldTlog, newTlog), rootOf(newTlog, oldTlog)]) {
      for (const [b, key] of [
        [b1, old.signer],
        [b2, fresh.signer],
      ] as const) {
        const r = verifyBundle(b, root);
        expect(r.reason).toBeUndefined();
        const hash = key.verifierKey.split('+')[1];
        expect(r.checks[0]).toContain(`signed by trusted key ${ORIGIN}+${hash} `);
      }
    }
    // Without the old key, its entries fail, naming the key that was tried and why.
    expect(verifyBundle(b1, rootOf(newTlog)).reason).toMatch(
      /^tlogEntries\[0\]: logId does not match any trusted key of "dsse.example.test"$/,
    );
    const noLogId = clone(b1);
    delete (noLogId.verificationMaterial.tlogEntries[0] as { logId?: unknown }).logId;
    expect(verifyBundle(noLogId, rootOf(newTlog)).reason).toMatch(
      /checkpoint does not verify with any trusted key \(dsse\.example\.test\+[0-9a-f]{8}: note: note has no verifiable signatures\)/,
    );
  });

  it('refuses a log key without validFor.start, or one not valid yet', async () => {
    const { app, signer } = await logWith();
    const b = await logDsse(app, statement(utf8('v')));
    const t = tlogOf(signer);
    const noStart = clone(t);
    noStart.publicKey.validFor = {} as never;
    expect(verifyBundle(b, rootOf(noStart)).reason).toBe(
      'trusted root has no usable Ed25519 transparency log; tlogs[0] ("dsse.example.test"): publicKey.validFor.start is missing',
    );
    const noValidFor = clone(t);
    delete (noValidFor.publicKey as { validFor?: unknown }).validFor;
    expect(verifyBundle(b, rootOf(noValidFor)).valid).toBe(false);
    const bad = clone(t);
    bad.publicKey.validFor = { start: 'yesterday' };
    expect(verifyBundle(b, rootOf(bad)).reason).toMatch(/validFor.start is malformed/);
    const later = tlogOf(signer, new Date('2030-01-01T00:00:00Z'));
    expect(
      verifyBundle(b, rootOf(later), { now: new Date('2029-01-01T00:00:00Z') }).reason,
    ).toMatch(/is not valid yet \(valid from 2030-01-01T00:00:00.000Z\)/);
    // A bad key beside a good one does not stop the good one.
    expect(verifyBundle(b, rootOf(noStart, t)).valid).toBe(true);
  });
});

describe('mutated bundles and trust roots (fast-check)', () => {
  // Every string leaf of a JSON value, by path.
  function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
    if (typeof v === 'string') return [path];
    if (v && typeof v === 'object')
      return Object.entries(v).flatMap(([k, x]) =>
        leaves(x, [...path, Array.isArray(v) ? Number(k) : k]),
      );
    return [];
  }
  function mutateAt(v: unknown, path: (string | number)[], f: (s: string) => unknown) {
    const out = clone(v) as Record<string | number, unknown>;
    let o = out;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
    const last = path.at(-1)!;
    o[last] = f(o[last] as string);
    return out;
  }
  const edit = fc.oneof(
    fc.record({ at: fc.nat(), x: fc.string({ maxLength: 2 }) }).map(
      ({ at, x }) =>
        (s: string) =>
          s.slice(0, at % (s.length + 1)) + x + s.slice((at % (s.length + 1)) + 1),
    ),
    fc.constant(() => undefined),
    fc.constant(() => 7),
    fc.constant(() => ({})),
  );

  it('never throws, never passes a changed signature, payload or proof, and answers one line', async () => {
    const { app, signer } = await logWith();
    const bundle = await logDsse(app, statement(utf8('m')));
    const root = rootOf(tlogOf(signer));
    const bPaths = leaves(bundle);
    const rPaths = leaves(root);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), edit, fc.boolean(), (i, j, f, which) => {
        const b = which ? mutateAt(bundle, bPaths[i % bPaths.length]!, f) : bundle;
        const r = which ? root : mutateAt(root, rPaths[j % rPaths.length]!, f);
        const out = verifyBundle(b, r);
        if (!out.valid) expect(out.reason).toMatch(/^[^\n]+$/);
        const path = (which ? bPaths[i % bPaths.length] : rPaths[j % rPaths.length])!.join('.');
        const vital = /payload$|\.sig$|hashes|canonicalizedBody|envelope|rawBytes/.test(path);
        const changed =
          JSON.stringify(b) !== JSON.stringify(bundle) ||
          JSON.stringify(r) !== JSON.stringify(root);
        if (vital && changed && out.valid) {
          // Base64 that decodes to the same bytes (padding, URL-safe) is not a change.
          const v = which
            ? leavesValue(b, bPaths[i % bPaths.length]!)
            : leavesValue(r, rPaths[j % rPaths.length]!);
          const orig = which
            ? leavesValue(bundle, bPaths[i % bPaths.length]!)
            : leavesValue(root, rPaths[j % rPaths.length]!);
          expect(
            typeof v === 'string' &&
              Buffer.from(v, 'base64').equals(Buffer.from(String(orig), 'base64')),
            path,
          ).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
  });
  function leavesValue(v: unknown, path: (string | number)[]): unknown {
    let o = v as Record<string | number, unknown>;
    for (const k of path) o = o?.[k] as Record<string | number, unknown>;
    return o;
  }
});
