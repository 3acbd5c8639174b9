// Subtree cosignatures (tlog-cosignature, subtree/v1) checked with liboqs (the WebAssembly build
// of the Open Quantum Safe C library), not with @noble/post-quantum, which tilelog signs with;
// the cosigned_message is built here byte by byte from the spec's struct, not with src/note.
import { createMLDSA44 } from '@oqs/liboqs-js';
import { expect } from 'vitest';

import { fromBase64, toHex, utf8 } from '../../src/bytes.ts';

/** Liboqs is an open liboqs ML-DSA-44 instance (createLiboqs; destroy() it when done). */
export type Liboqs = Awaited<ReturnType<typeof createMLDSA44>>;

/** createLiboqs opens liboqs's ML-DSA-44. */
export const createLiboqs = (): Promise<Liboqs> => createMLDSA44();

/** SubtreeClaim is what a subtree cosignature line must sign, by whom. */
export interface SubtreeClaim {
  /** verifierKey is the cosigner's ML-DSA-44 vkey (name+keyhash+base64(alg || key)). */
  readonly verifierKey: string;
  readonly origin: string;
  readonly start: number;
  readonly end: number;
  readonly hash: Uint8Array;
  readonly timestamp?: bigint;
}

// cosignedMessage is tlog-cosignature's struct cosigned_message, built by hand.
function cosignedMessage(name: string, c: SubtreeClaim, end: bigint): Uint8Array {
  const u64 = (n: bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, n);
    return b;
  };
  const lp = (s: string) => [utf8(s).length, ...utf8(s)];
  return Uint8Array.from([
    ...utf8('subtree/v1\n'),
    0,
    ...lp(name),
    ...u64(c.timestamp ?? 0n),
    ...lp(c.origin),
    ...u64(BigInt(c.start)),
    ...u64(end),
    ...c.hash,
  ]);
}

/**
 * expectSubtreeCosignature checks a signature line against claim with liboqs: the key name and
 * hash, the timestamp, a 2420-byte ML-DSA-44 signature that verifies, and not for another end.
 */
export function expectSubtreeCosignature(oqs: Liboqs, line: string, claim: SubtreeClaim): void {
  // The key's base64 may hold '+' too: name and key hash are the first two fields.
  const [name, keyHash, ...rest] = claim.verifierKey.split('+');
  const key = rest.join('+');
  const m = /^\u2014 (\S+) (\S+)$/.exec(line);
  expect(m?.[1]).toBe(name);
  const raw = fromBase64(m![2]!)!;
  expect(toHex(raw.subarray(0, 4))).toBe(keyHash);
  const view = new DataView(raw.buffer, raw.byteOffset);
  expect(view.getBigUint64(4)).toBe(claim.timestamp ?? 0n);
  const sig = raw.subarray(12);
  expect(sig.length).toBe(2420);
  const pub = fromBase64(key)!.subarray(1);
  expect(oqs.verify(cosignedMessage(name!, claim, BigInt(claim.end)), sig, pub)).toBe(true);
  const wrong = cosignedMessage(name!, claim, BigInt(claim.end) + 1n);
  expect(oqs.verify(wrong, sig, pub)).toBe(false);
}
