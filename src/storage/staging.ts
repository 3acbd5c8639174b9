/**
 * The S3 driver's staging object (s3.ts, step 1 of a commit): the commit's objects in one CBOR
 * value, durable before the lock names it, so that readLock() can finish a commit whose writer
 * died after its lock swap.
 */
import { Encoder } from 'cbor-x';

import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { StoredObject } from './storage.ts';

// The staging object is CBOR (RFC 8949): an array of [key, value] pairs, value a byte string or
// null (a delete), encoded by cbor-x with plain byte strings (no typed-array tags) so that any
// CBOR decoder reads it. decodeStaging re-encodes what it parsed and rejects anything that does
// not round-trip byte for byte (indefinite lengths, non-minimal heads, extra items).
const cbor = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false });

/** encodeStaging serializes a commit's objects as a CBOR array of [key, value | null] pairs. */
export function encodeStaging(objects: readonly StoredObject[]): Uint8Array {
  return cbor.encode(objects.map((o) => [o.key, o.value]));
}

/** decodeStaging parses encodeStaging's output (or the pre-CBOR format), or throws 'corrupt'. */
export function decodeStaging(b: Uint8Array): StoredObject[] {
  // The pre-CBOR format starts with a u16 key length (0x00 for keys under 256 bytes, and it was
  // empty for no objects); a CBOR array starts with 0x80..0x9b. A staging object survives an
  // upgrade when the old version died between its lock swap and its cleanup, so it is still read.
  if (b.length === 0 || b[0]! < 0x80) return decodeLegacyStaging(b);
  const bad = () => new LogError('corrupt', 'storage: staging object is not canonical CBOR');
  let parsed: unknown;
  try {
    parsed = cbor.decode(b);
  } catch (cause) {
    throw new LogError('corrupt', 'storage: staging object is not CBOR', { cause });
  }
  if (!Array.isArray(parsed)) throw bad();
  const out = parsed.map((pair: unknown): StoredObject => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw bad();
    const v: unknown = pair[1];
    if (v !== null && !(v instanceof Uint8Array)) throw bad();
    return { key: pair[0], value: v === null ? null : new Uint8Array(v) };
  });
  if (!equal(encodeStaging(out), b)) throw bad();
  return out;
}

// decodeLegacyStaging reads the pre-CBOR format: per object u16 key length, key, u8 kind,
// u32 length, value.
function decodeLegacyStaging(b: Uint8Array): StoredObject[] {
  const out: StoredObject[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const dec = new TextDecoder();
  let off = 0;
  while (off < b.length) {
    if (off + 2 > b.length) throw new LogError('corrupt', 'storage: truncated staging object');
    const kl = dv.getUint16(off);
    const key = dec.decode(b.subarray(off + 2, off + 2 + kl));
    off += 2 + kl;
    if (off + 5 > b.length) throw new LogError('corrupt', 'storage: truncated staging object');
    const kind = b[off]!;
    const vl = dv.getUint32(off + 1);
    off += 5;
    if (off + vl > b.length || kind > 1)
      throw new LogError('corrupt', 'storage: truncated staging object');
    out.push({ key, value: kind === 0 ? null : b.slice(off, off + vl) });
    off += vl;
  }
  return out;
}
