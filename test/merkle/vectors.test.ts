import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fromBase64, fromHex, toHex } from '../../src/bytes.ts';
import {
  checkConsistency,
  checkInclusion,
  EMPTY_ROOT,
  leafHash,
  nodeHash,
} from '../../src/merkle/index.ts';
import { proveConsistency, proveInclusion, readTreeHash } from '../../src/tiles/index.ts';
import { TiledTree } from '../helpers/tiled.ts';

const DIR = 'spec-vectors/transparency-dev-merkle';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const b64 = (s: string | null | undefined) => (s == null ? new Uint8Array(0) : fromBase64(s)!);
const list = (a: string[] | null | undefined) => (a ?? []).map((s) => b64(s));

describe('transparency-dev/merkle probe vectors', () => {
  const inclusion = files(join(DIR, 'testdata/inclusion'));
  const consistency = files(join(DIR, 'testdata/consistency'));

  it('has the vectors', () => {
    expect(inclusion.length).toBeGreaterThan(80);
    expect(consistency.length).toBeGreaterThan(80);
  });

  it('agrees with every inclusion vector, including wantErr', () => {
    for (const f of inclusion) {
      const v = JSON.parse(readFileSync(f, 'utf8'));
      const run = () =>
        checkInclusion(
          Number(v.leafIdx),
          Number(v.treeSize),
          b64(v.leafHash),
          list(v.proof),
          b64(v.root),
        );
      if (v.wantErr) expect(run, f).toThrow();
      else expect(run, f).not.toThrow();
    }
  });

  it('agrees with every consistency vector, including wantErr', () => {
    for (const f of consistency) {
      const v = JSON.parse(readFileSync(f, 'utf8'));
      const run = () =>
        checkConsistency(
          Number(v.size1),
          Number(v.size2),
          b64(v.root1),
          b64(v.root2),
          list(v.proof),
        );
      if (v.wantErr) expect(run, f).toThrow();
      else expect(run, f).not.toThrow();
    }
  });
});

describe('RFC 6962 reference tree (transparency-dev/merkle testonly)', () => {
  const ref = JSON.parse(readFileSync(join(DIR, 'reference_tree.json'), 'utf8'));
  const leaves: Uint8Array[] = ref.leafInputsHex.map((h: string) => fromHex(h)!);
  const tree = new TiledTree();
  tree.append(leaves);
  const hex = (hs: Uint8Array[]) => hs.map(toHex);

  it('hashes leaves and nodes as the hasher vectors say', () => {
    for (const v of ref.hasherVectors) {
      if (v.leafHex !== undefined) expect(toHex(leafHash(fromHex(v.leafHex)!))).toBe(v.want);
      else if (v.leftHex !== undefined)
        expect(toHex(nodeHash(fromHex(v.leftHex)!, fromHex(v.rightHex)!))).toBe(v.want);
      else expect(toHex(EMPTY_ROOT)).toBe(v.want);
    }
    ref.nodeHashesByLevel[0].forEach((h: string, i: number) =>
      expect(toHex(leafHash(leaves[i]!))).toBe(h),
    );
  });

  it('has the root of every size', async () => {
    for (const [size, root] of Object.entries(ref.rootHashesBySize)) {
      const t = new TiledTree();
      t.append(leaves.slice(0, Number(size)));
      expect(toHex(await readTreeHash(t.fetch, Number(size)))).toBe(root);
    }
  });

  it('generates the reference inclusion proofs', async () => {
    for (const p of ref.inclusionProofs) {
      const t = new TiledTree();
      t.append(leaves.slice(0, p.treeSize));
      expect(hex(await proveInclusion(t.fetch, p.leafIndex0, p.treeSize))).toEqual(p.proof);
    }
  });

  it('generates the reference consistency proofs', async () => {
    for (const p of ref.consistencyProofs) {
      const t = new TiledTree();
      t.append(leaves.slice(0, p.size2));
      expect(hex(await proveConsistency(t.fetch, p.size1, p.size2))).toEqual(p.proof);
    }
    expect(tree.edge.size).toBe(8);
  });
});
