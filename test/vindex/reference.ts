// RFC 6962 §2.1 MTH over u64be-encoded indices, written out directly.
import { createHash } from 'node:crypto';

const h = (...parts: Uint8Array[]) =>
  new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());

export function rfc6962Root(list: readonly number[]): Uint8Array {
  if (list.length === 0) return h();
  if (list.length === 1) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(list[0]!));
    return h(Uint8Array.of(0), b);
  }
  let k = 1;
  while (k * 2 < list.length) k *= 2;
  return h(Uint8Array.of(1), rfc6962Root(list.slice(0, k)), rfc6962Root(list.slice(k)));
}
