/**
 * Proof endpoints, computed from tiles: inclusion by index or leaf hash, and consistency between
 * two sizes, both for sizes up to the published checkpoint.
 */
import type { Context } from 'hono';

import { fromBase64, readU64be, toBase64, toHex } from '../bytes.ts';
import { badRequest, LogError } from '../errors.ts';
import type { Hash } from '../merkle/index.ts';
import { parseDecimalSize } from '../note/index.ts';
import type { Log } from '../sequencer/index.ts';
import { indexKey } from '../storage/index.ts';

function param(c: Context, name: string): string {
  const v = c.req.query(name);
  if (v === undefined) throw badRequest(`missing query parameter ${name}`);
  return v;
}

function sizeParam(c: Context, name: string, published: number): number {
  const n = parseDecimalSize(param(c, name), name);
  if (n > published) throw badRequest(`${name} ${n} is above the published tree size ${published}`);
  return n;
}

const b64 = (hs: Hash[]) => hs.map(toBase64);

/** getInclusionProof answers ?index=I&treeSize=N or ?leafHash=B64&treeSize=N. */
export async function getInclusionProof(c: Context, log: Log): Promise<Response> {
  const { checkpoint } = log.state;
  const published = checkpoint.size;
  const treeSize = sizeParam(c, 'treeSize', published);
  const leaf = c.req.query('leafHash');
  const hasIndex = c.req.query('index') !== undefined;
  if ((leaf === undefined) === !hasIndex)
    throw badRequest('give exactly one of index and leafHash');
  let index: number;
  if (leaf !== undefined) {
    const hash = fromBase64(leaf);
    if (!hash || hash.length !== 32) throw badRequest('leafHash is not a base64 SHA-256 hash');
    const stored = await log.reader.lookup(indexKey(toHex(hash)));
    if (!stored) throw new LogError('not_found', 'no entry with that leaf hash');
    index = readU64be(stored) ?? -1;
  } else {
    index = parseDecimalSize(param(c, 'index'), 'index');
  }
  if (index >= treeSize) throw badRequest(`index ${index} is not below treeSize ${treeSize}`);
  const hashes = await log.reader.proveInclusion(index, treeSize);
  const root = treeSize === published ? checkpoint.root : await log.reader.treeHash(treeSize);
  return c.json({
    logIndex: String(index),
    treeSize: String(treeSize),
    rootHash: toBase64(root),
    hashes: b64(hashes),
  });
}

/** getConsistencyProof answers ?firstSize=M&lastSize=N (empty when M = N or M = 0). */
export async function getConsistencyProof(c: Context, log: Log): Promise<Response> {
  const published = log.state.checkpoint.size;
  const lastSize = sizeParam(c, 'lastSize', published);
  const firstSize = sizeParam(c, 'firstSize', published);
  if (firstSize > lastSize)
    throw badRequest(`firstSize ${firstSize} is above lastSize ${lastSize}`);
  const hashes = await log.reader.proveConsistency(firstSize, lastSize);
  return c.json({ firstSize: String(firstSize), lastSize: String(lastSize), hashes: b64(hashes) });
}
