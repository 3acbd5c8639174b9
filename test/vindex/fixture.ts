// An input log with real Rekor v2 entries: hashedrekord entries with public keys and with
// Fulcio-like certificates (SANs of each kind, issuer extensions, or none), posted through the
// Rekor API and so admitted by the personality, plus raw entries the map function cannot read.
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

import { expect } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { TlogClient } from '../../src/client/index.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { EMPTY_EDGE } from '../../src/tiles/index.ts';
import { mapEntry } from '../../src/vindex/index.ts';
import { makeSigner, request } from '../helpers/signers.ts';
import { makeCert, type San } from './certs.ts';

export const INPUT_ORIGIN = 'rekor.example.test/input';
export const inputSigner = parseSignerKey(generateSignerKey(INPUT_ORIGIN));
export const inputVerifiers = [parseVerifierKey(inputSigner.verifierKey)];
export const OUTPUT_ORIGIN = 'rekor.example.test/input/index';
export const outputSigner = parseSignerKey(generateSignerKey(OUTPUT_ORIGIN));
export const outputVerifiers = [parseVerifierKey(outputSigner.verifierKey)];

export type Tamper = (path: string, body: Uint8Array) => Uint8Array;

export async function inputLog() {
  const log = await Log.open(new MemoryStore(), {
    origin: INPUT_ORIGIN,
    signer: inputSigner,
    maxAgeMs: 1,
    maxBatch: 1024,
  });
  const app = createApp(log);
  const client = (tamper?: Tamper) =>
    new TlogClient({
      url: 'http://log.test/api/v2',
      verifiers: inputVerifiers,
      fetch: (async (input: string) => {
        const res = await app.request(input);
        if (!tamper || res.status !== 200) return res;
        const body = new Uint8Array(await res.arrayBuffer());
        return new Response(tamper(new URL(input).pathname, body) as Uint8Array<ArrayBuffer>);
      }) as typeof fetch,
    });
  return { log, app, client };
}

export const outputLog = () =>
  Log.open(new MemoryStore(), { origin: OUTPUT_ORIGIN, signer: outputSigner, maxAgeMs: 1 });

type Identity = { sans: San[]; issuer?: string; legacyIssuer?: string };

const KEYS = [0, 1, 2].map(() => makeSigner('PKIX_ECDSA_P256_SHA_256'));
const PAIRS = [0, 1, 2, 3].map(() => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
const IDENTITIES: Identity[] = [
  { sans: [{ email: 'alice@example.com' }], issuer: 'https://accounts.example.com' },
  { sans: [{ email: 'bob@example.com' }], issuer: 'https://accounts.example.com' },
  { sans: [{ email: 'alice@example.com' }], legacyIssuer: 'https://github.com/login/oauth' },
  {
    sans: [
      { uri: 'https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main' },
      { username: 'octo' },
    ],
    issuer: 'https://token.actions.githubusercontent.com',
  },
  { sans: [], issuer: 'https://accounts.example.com' },
];

/** certRequest is a hashedrekord request over artifact with a certificate for identity. */
export function certRequest(
  identity: Identity,
  pair: { privateKey: KeyObject; publicKey: KeyObject },
  artifact: Uint8Array,
) {
  const cert = makeCert(identity, pair);
  return {
    hashedRekordRequestV002: {
      digest: createHash('sha256').update(artifact).digest('base64'),
      signature: {
        content: sign('sha256', artifact, pair.privateKey).toString('base64'),
        verifier: {
          x509Certificate: { rawBytes: Buffer.from(cert.der).toString('base64') },
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        },
      },
    },
  };
}

/** postEntry posts a Rekor v2 request to app and returns its log index (it must be admitted). */
export async function postEntry(
  app: { request(path: string, init: RequestInit): Response | Promise<Response> },
  body: unknown,
): Promise<number> {
  const r = await app.request('/api/v2/log/entries', {
    method: 'POST',
    body: JSON.stringify(body),
  });
  expect(r.status, await r.clone().text()).toBe(201);
  return Number(((await r.json()) as { logIndex: string }).logIndex);
}

/** populate adds n entries from `from` on: keys, certificates, shared digests and junk. */
export async function populate(
  app: ReturnType<typeof createApp>,
  log: Log,
  from: number,
  n: number,
): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  for (let i = from; i < from + n; i++) {
    // Every fourth artifact repeats, so digests are shared between entries.
    const artifact = new TextEncoder().encode(`artifact ${i % 4 === 3 ? 'shared' : i}`);
    const kind = i % 5;
    if (kind === 3) {
      jobs.push(log.add(new TextEncoder().encode(`junk ${i}`)));
      continue;
    }
    const identity = IDENTITIES[Math.floor(i / 5) % IDENTITIES.length]!;
    const body =
      kind === 0
        ? request(KEYS[i % KEYS.length]!, artifact)
        : certRequest(identity, PAIRS[i % PAIRS.length]!, artifact);
    jobs.push(postEntry(app, body));
  }
  await Promise.all(jobs);
}

/** scan is the plain-scan oracle: every key of every entry of the log, with its indices. */
export async function scan(client: TlogClient): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  const { checkpoint } = await client.checkpoint();
  for await (const { index, entry } of client.follow(EMPTY_EDGE, checkpoint)) {
    for (const k of mapEntry(entry).keys) {
      const l = out.get(k) ?? [];
      l.push(index);
      out.set(k, l);
    }
  }
  return out;
}
