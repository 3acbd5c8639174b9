// Chooses the crypto backend (src/crypto.ts): node:crypto against @noble/* for SHA-256 leaf and
// node hashes and Ed25519, and tree hashing (leaf + node hashes per entry, via the real edge code)
// against the raw SHA-256 rate of the chosen hash.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hash as nodeHash,
  sign,
  verify,
} from 'node:crypto';

import * as ed from '@noble/ed25519';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { sha512 } from '@noble/hashes/sha2.js';

import { appendToEdge, edgeRoot, EMPTY_EDGE } from '../src/tiles/index.ts';
import { machine, rate, report } from './util.ts';

ed.hashes.sha512 = (m: Uint8Array) => sha512(m);

function time(n: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 1000); i++) f(i);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  return rate(n, performance.now() - t0);
}

console.log(`# crypto backend and tree hashing; ${machine()}`);
const kib = new Uint8Array(1025).fill(7);
const node65 = new Uint8Array(65).fill(1);
const N = 200_000;
const nodeLeaf = time(N, () => nodeHash('sha256', kib, 'buffer'));
const nodeStream = time(N, () => createHash('sha256').update(kib).digest());
const nobleLeaf = time(N / 4, () => nobleSha256(kib));
report('sha256 1 KiB: noble', nobleLeaf, 'hash/s', nodeLeaf, 'node crypto.hash');
report('sha256 1 KiB: node createHash', nodeStream, 'hash/s', nodeLeaf, 'node crypto.hash');
const nodeNode = time(N, () => nodeHash('sha256', node65, 'buffer'));
const nobleNode = time(N, () => nobleSha256(node65));
report('sha256 65 B: noble', nobleNode, 'hash/s', nodeNode, 'node crypto.hash');

const seed = new Uint8Array(32).fill(9);
const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
const priv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
const pub = createPublicKey(priv);
const msg = new Uint8Array(120).fill(3);
const nodeSign = time(5000, () => sign(null, msg, priv));
const nobleSign = time(1000, () => ed.sign(msg, seed));
report('ed25519 sign: noble', nobleSign, 'sig/s', nodeSign, 'node:crypto');
const sig = sign(null, msg, priv);
const nodeVerify = time(5000, () => verify(null, msg, pub, sig));
const noblePub = ed.getPublicKey(seed);
const nobleVerify = time(500, () => ed.verify(sig, msg, noblePub));
report('ed25519 verify: noble', nobleVerify, 'verify/s', nodeVerify, 'node:crypto');

// The digest as bytes: crypto.ts takes it as a latin1 string and copies it out, which costs less
// than the 'buffer' output's fresh ArrayBuffer per call.
const asBuffer = time(N, () => nodeHash('sha256', node65, 'buffer'));
const asLatin1 = time(N, () => latin1Bytes(nodeHash('sha256', node65, 'binary')));
report('sha256 65 B, digest as buffer', asBuffer, 'hash/s', asLatin1, 'latin1 copied out');

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// Tree hashing: leaf hash plus the node hashes of the tiles, per 1 KiB entry, as appendToEdge
// computes them when it is not given the leaf hashes (each leaf hashed where it lies in the bundle
// it writes, every hash written into its tile; rebuilding or following a log), against a raw
// SHA-256 of each of the same entries (the same bytes read from the same memory: 100 MB does not
// fit in a cache, so a limit that hashes one hot buffer would also count the memory reads).
// Process CPU time, not wall time: the machine is shared, and other processes' load would
// otherwise land on one side of the ratio only.
const M = 100_000;
const entries = Array.from({ length: M }, (_, i) => {
  const e = new Uint8Array(1024);
  new DataView(e.buffer).setUint32(0, i);
  return e;
});
function cpuUs(f: () => void): number {
  const c = process.cpuUsage();
  f();
  const d = process.cpuUsage(c);
  return d.user + d.system;
}
let rawUs = 0;
let treeUs = 0;
// Round 0 warms both sides up, as time() does for the lines above, and is not counted: its tree
// hashing ran ~30% slower than the rounds after it (compilation, first use of the memory it
// allocates), its raw hashing ~15%, which measured start-up rather than a sequencer's steady state.
for (let round = 0; round < 4; round++) {
  const raw = cpuUs(() => {
    for (const e of entries) nodeHash('sha256', e, 'binary');
  });
  const tree = cpuUs(() => {
    let edge = EMPTY_EDGE;
    for (let i = 0; i < M; i += 4096) {
      const chunk = entries.slice(i, i + 4096);
      edge = appendToEdge(edge, chunk).edge;
      edgeRoot(edge);
    }
  });
  if (round === 0) continue;
  rawUs += raw;
  treeUs += tree;
}
report(
  'tree hashing, 1 KiB entries (one core)',
  (3 * M * 1e6) / treeUs,
  'entries/s',
  (3 * M * 1e6) / rawUs,
  'raw sha256 of the same entries',
  '≥ 0.5',
);
