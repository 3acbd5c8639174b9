// GET <prefix>/entries/<index> on a real server: the body is the logged one, the inclusion proof
// verifies against the signed checkpoint it comes with, a key entry and a certificate entry are
// decoded, and bad indices are one-line 400s, indices beyond the tree 404s, all with CORS.
import { createHash, generateKeyPairSync } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApp, listen } from '../../src/api/index.ts';
import { fromBase64, toHex } from '../../src/bytes.ts';
import { checkInclusion, leafHash } from '../../src/merkle/index.ts';
import { openNote, parseCheckpoint } from '../../src/note/index.ts';
import { EMPTY_EDGE } from '../../src/tiles/index.ts';
import { makeSigner, request } from '../helpers/signers.ts';
import { makeCert } from '../vindex/certs.ts';
import { certRequest, inputLog, inputVerifiers, populate, postEntry } from '../vindex/fixture.ts';

type Server = Awaited<ReturnType<typeof listen>>;
let server: Server;
let input: Awaited<ReturnType<typeof inputLog>>;
const keySigner = makeSigner('PKIX_ECDSA_P256_SHA_256');
const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const identity = {
  sans: [{ email: 'carol@example.com' }, { uri: 'https://github.com/o/r/ci.yml@refs/heads/x' }],
  issuer: 'https://issuer.example.com',
};
const cert = makeCert(identity, pair);
const artifact = new TextEncoder().encode('the artifact of the entries test');
const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let keyIndex: number;
let certIndex: number;

async function get(path: string): Promise<Response> {
  for (let i = 0; ; i++) {
    const res = await fetch(`${server.url}/${path}`);
    // Publication follows integration by a moment: wait for the checkpoint to cover the entry.
    if (res.status !== 404 || i === 50) return res;
    await res.text();
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface EntryAnswer {
  index: number;
  canonicalizedBody: string;
  entry: Record<string, any>;
  checkpoint: string;
  inclusionProof: { logIndex: number; treeSize: number; hashes: string[] };
}

function verified(a: EntryAnswer): Uint8Array {
  const cp = parseCheckpoint(openNote(a.checkpoint, inputVerifiers).text);
  const body = fromBase64(a.canonicalizedBody)!;
  const proof = a.inclusionProof.hashes.map((h) => fromBase64(h)!);
  expect(a.inclusionProof.treeSize).toBe(cp.size);
  checkInclusion(a.index, cp.size, leafHash(body), proof, cp.root);
  return body;
}

beforeAll(async () => {
  input = await inputLog();
  server = await listen(createApp(input.log).fetch, '127.0.0.1', 0, '/api/v2');
  await populate(input.app, input.log, 0, 300);
  keyIndex = await postEntry(input.app, request(keySigner, artifact));
  certIndex = await postEntry(input.app, certRequest(identity, pair, artifact));
});
afterAll(async () => server.close());

describe('GET entries/<index>', () => {
  it('answers every entry with its body and a proof that verifies against the checkpoint', async () => {
    // The oracle: every body as the verifying client reads it from the tiles.
    const bodies: Uint8Array[] = [];
    const { checkpoint } = await input.client().checkpoint();
    for await (const { entry } of input.client().follow(EMPTY_EDGE, checkpoint)) bodies.push(entry);
    for (const i of [0, 1, 255, 256, 257, 299, keyIndex, certIndex]) {
      const res = await get(`entries/${i}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const a = (await res.json()) as EntryAnswer;
      expect(a.index).toBe(i);
      const body = verified(a);
      expect(toHex(body)).toBe(toHex(bodies[i]!));
    }
  });

  it('decodes a public-key entry', async () => {
    const a = (await (await get(`entries/${keyIndex}`)).json()) as EntryAnswer;
    verified(a);
    expect(a.entry.kind).toBe('hashedrekord');
    expect(a.entry.digest).toEqual({ algorithm: 'sha256', hex: sha256hex(artifact) });
    expect(a.entry.signatures).toHaveLength(1);
    const v = a.entry.signatures[0];
    expect(v.spkiSha256).toBe(sha256hex(keySigner.spki));
    expect(v.keyType).toBe('ECDSA P-256');
    expect(v.certificate).toBeNull();
    expect(a.entry.problems).toEqual([]);
  });

  it('decodes a certificate entry: subject, SANs, issuer and validity', async () => {
    const a = (await (await get(`entries/${certIndex}`)).json()) as EntryAnswer;
    verified(a);
    expect(a.entry.digest).toEqual({ algorithm: 'sha256', hex: sha256hex(artifact) });
    const c = a.entry.signatures[0].certificate;
    expect(c.sans).toEqual(['carol@example.com', 'https://github.com/o/r/ci.yml@refs/heads/x']);
    expect(c.oidcIssuer).toBe('https://issuer.example.com');
    expect(c.issuerName).toBe('O=sigstore.dev');
    expect(c.subject).toBe('(empty)');
    expect(c.notBefore).toBe('2025-12-14T02:04:39Z');
    expect(c.notAfter).toBe('2025-12-14T02:14:39Z');
    expect(c.spkiSha256).toBe(sha256hex(cert.spki));
  });

  it('refuses bad indices with a one-line 400 and answers 404 beyond the tree', async () => {
    for (const bad of ['-1', '01', 'abc', '1.5', '%20', '99999999999999999999', '0x1']) {
      const res = await fetch(`${server.url}/entries/${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const text = await res.text();
      expect(text.trim().split('\n'), bad).toHaveLength(1);
    }
    const size = input.log.state.checkpoint.size;
    for (const beyond of [size, size + 1, 2 ** 40]) {
      const res = await fetch(`${server.url}/entries/${beyond}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toMatch(/beyond the tree/);
    }
    expect(input.log.state.checkpoint.size).toBe(size);
  });
});
