/**
 * Search through the verifiable index (src/vindex): the query becomes the map function's typed
 * key, the answer is verified with vindex's verifyLookup (page proof, trie proof or proof of
 * absence, revision leaf and its inclusion in the signed output log), the output log is proved
 * consistent with the last one this browser saw, the input checkpoint the revision covers with
 * the log's, and every hit's entry is read, proved included and checked to carry the key.
 * Pure apart from the session's fetch and store.
 */
import { fromBase64, fromHex, toBase64, toHex } from '../bytes.ts';
import { TlogClient } from '../client/index.ts';
import { LogError } from '../errors.ts';
import { type Checkpoint, parseCheckpoint, parseVerifierKey } from '../note/index.ts';
import {
  digestKey,
  issuerSanKey,
  keyHash,
  mapEntry,
  type MapValue,
  sanKey,
  type VerifiedLookup,
  verifyLookup,
} from '../vindex/index.ts';
import type { Included, KV, Session } from './session.ts';

/** Query is a validated search: the typed key string and how it was asked. */
export interface Query {
  readonly keyString: string;
  readonly label: string;
  readonly start: number;
}

/** PAGE is how many hits one search page reads and proves. */
export const PAGE = 50;
const MAX_VALUE = 4096;

const DIGEST = /^(sha256|sha384|sha512):([0-9a-f]+)$/;
const HEX_SIZES: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function digestOf(v: string, what: string): [string, string] {
  const m = DIGEST.exec(v.trim().toLowerCase());
  if (!m || m[2]!.length !== HEX_SIZES[m[1]!])
    throw new LogError(
      'bad_request',
      `${what} must be sha256:<64 hex digits> (or sha384:, sha512:)`,
    );
  return [m[1]!, m[2]!];
}

function value(v: string, what: string): string {
  if (v.length === 0 || v.length > MAX_VALUE)
    throw new LogError('bad_request', `${what} must be 1 to ${MAX_VALUE} characters`);
  return v;
}

/** parseQuery validates a search's parameters (from the URL fragment) into a Query. */
export function parseQuery(p: URLSearchParams): Query {
  const names = [...p.keys()].filter((k) => k !== 'start');
  for (const n of names)
    if (!['digest', 'key', 'san', 'issuer'].includes(n))
      throw new LogError(
        'bad_request',
        `unknown search parameter ${JSON.stringify(n.slice(0, 40))}`,
      );
  const s = p.get('start') ?? '0';
  if (!/^(0|[1-9][0-9]{0,12})$/.test(s))
    throw new LogError('bad_request', 'start must be a number');
  const start = Number(s);
  const digest = p.get('digest');
  const key = p.get('key');
  const san = p.get('san');
  const issuer = p.get('issuer');
  if (names.length === 1 && digest !== null) {
    const [alg, hex] = digestOf(digest, 'digest');
    return { keyString: digestKey(alg, fromHex(hex)!), label: `digest ${alg}:${hex}`, start };
  }
  if (names.length === 1 && key !== null) {
    const [alg, hex] = digestOf(key, 'key');
    if (alg !== 'sha256')
      throw new LogError('bad_request', 'key must be sha256:<hex of the SPKI hash>');
    return { keyString: `key:sha256:${hex}`, label: `public key sha256:${hex}`, start };
  }
  if (san !== null && (names.length === 1 || (names.length === 2 && issuer !== null))) {
    value(san, 'identity');
    if (issuer === null) return { keyString: sanKey(san), label: `identity ${san}`, start };
    value(issuer, 'issuer');
    return {
      keyString: issuerSanKey(issuer, san),
      label: `identity ${san} from issuer ${issuer}`,
      start,
    };
  }
  throw new LogError(
    'bad_request',
    'search by one of: digest, identity (optionally with issuer), key',
  );
}

/** parseIndex validates an entry index from the URL fragment. */
export function parseIndex(v: string): number {
  if (!/^(0|[1-9][0-9]{0,14})$/.test(v))
    throw new LogError('bad_request', 'an entry index is a decimal number');
  return Number(v);
}

/** Hit is one verified search result: an entry proved included that carries the key. */
export type Hit = Included;

/** SearchReport is a verified search answer. */
export interface SearchReport {
  readonly query: Query;
  readonly lookup: VerifiedLookup;
  readonly hits: readonly Hit[];
  /** outputSeen is the size of the output checkpoint seen before (null: first time). */
  readonly outputSeen: number | null;
}

async function fetchAnswer(s: Session, url: string): Promise<unknown> {
  const res = await s.fetch(url);
  if (res.status === 503 || res.status >= 500)
    throw new LogError(
      'unavailable',
      `index: HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`,
    );
  if (!res.ok)
    throw new LogError(
      'bad_request',
      `index: HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`,
    );
  try {
    return await res.json();
  } catch {
    throw new LogError('corrupt', 'index: the answer is not JSON');
  }
}

// consistent proves two checkpoints of one log consistent, whichever is larger.
async function consistent(c: TlogClient, a: Checkpoint, b: Checkpoint): Promise<void> {
  if (a.size <= b.size) await c.checkConsistent(a, b);
  else await c.checkConsistent(b, a);
}

/** search runs a query against the session's index and verifies everything it answers. */
export async function search(s: Session, kv: KV, q: Query): Promise<SearchReport> {
  const { index, indexVkey } = s.settings;
  if (!index || !indexVkey) throw new LogError('bad_request', 'no index is configured (settings)');
  const outputVerifiers = [parseVerifierKey(indexVkey)];
  const key = keyHash(q.keyString);
  const hex = toHex(key);
  const listKey = `tilelog-explorer/list/${indexVkey}/${hex}`;
  const outKey = `tilelog-explorer/index-seen/${indexVkey}`;
  const seen = JSON.parse(kv.getItem(listKey) ?? 'null') as { size: number; root: string } | null;
  const since: MapValue | undefined =
    seen && q.start === 0 ? { size: seen.size, listRoot: fromBase64(seen.root)! } : undefined;
  const base = index.replace(/\/+$/, '');
  const url = `${base}/lookup/${hex}?start=${q.start}&limit=${PAGE}${since ? `&since=${since.size}` : ''}`;
  const lookup = verifyLookup(await fetchAnswer(s, url), {
    key,
    outputVerifiers,
    inputVerifiers: [s.logVerifier],
    since,
  });
  // The output log: consistent with the output checkpoint this browser saw before.
  const output = new TlogClient({ url: index, verifiers: outputVerifiers, fetch: s.fetch });
  const prevNote = kv.getItem(outKey);
  const prev = prevNote ? parseCheckpoint(prevNote.slice(0, prevNote.indexOf('\n\n') + 1)) : null;
  if (prev) await consistent(output, prev, lookup.output.checkpoint);
  // The input checkpoint the revision covers: consistent with the log as this browser saw it.
  const logSeen = s.lastSeen();
  const input = lookup.input.checkpoint;
  if (logSeen) await consistent(s.client, input, logSeen);
  const hits: Hit[] = [];
  for (const i of lookup.indices) {
    const inc = await s.included(i, input);
    if (!mapEntry(inc.entry).keys.includes(q.keyString))
      throw new LogError('corrupt', `hit ${i} does not carry the key ${q.keyString}`);
    hits.push(inc);
  }
  if (!prev || prev.size <= lookup.output.checkpoint.size) kv.setItem(outKey, lookup.output.note);
  if (q.start === 0 && lookup.list.size > 0)
    kv.setItem(
      listKey,
      JSON.stringify({ size: lookup.list.size, root: toBase64(lookup.list.listRoot) }),
    );
  return { query: q, lookup, hits, outputSeen: prev?.size ?? null };
}
