// Per-key lists: the edge's root equals the RFC 6962 root, every page of every list up to 24
// verifies and every one-byte mangling of a page proof is refused, consistency proofs verify.
import { describe, expect, it } from 'vitest';

import { checkConsistency } from '../../src/merkle/index.ts';
import {
  appendList,
  EMPTY_LIST,
  listConsistency,
  listRoot,
  pageProof,
  rangeHash,
  verifyPage,
} from '../../src/vindex/index.ts';
import { rfc6962Root } from './reference.ts';

describe('key lists', () => {
  it('checks every page of every list up to 24 and refuses every mangled proof', () => {
    let edge = EMPTY_LIST;
    const list: number[] = [];
    for (let n = 1; n <= 24; n++) {
      list.push(n * 4 + (n % 3)); // ascending, as lists are
      edge = appendList(edge, list[n - 1]!);
      const root = listRoot(edge);
      expect(root).toEqual(rfc6962Root(list));
      expect(rangeHash(list, 0, n)).toEqual(root);
      for (let s = 0; s < n; s++) {
        for (let e = s + 1; e <= n; e++) {
          const page = list.slice(s, e);
          const proof = pageProof(list, s, e);
          verifyPage(n, root, s, page, proof);
          expect(() => verifyPage(n, root, s + 1, page, proof)).toThrow();
          expect(() => verifyPage(n, root, s, page.slice(1), proof)).toThrow();
          if (n > 9) continue;
          proof.forEach((h, i) => {
            for (let b = 0; b < 32; b++) {
              const bad = proof.map((x) => x.slice());
              bad[i]![b]! ^= 1;
              expect(() => verifyPage(n, root, s, page, bad)).toThrow(/list root/);
            }
          });
          page.forEach((_, i) => {
            const bad = page.slice();
            bad[i]! += 1;
            expect(() => verifyPage(n, root, s, bad, proof)).toThrow(/list root/);
          });
        }
      }
      for (let m = 1; m < n; m++) {
        const old = listRoot(list.slice(0, m).reduce(appendList, EMPTY_LIST));
        checkConsistency(m, n, old, root, listConsistency(list, m));
      }
    }
  });

  it('has the empty root for the empty list and refuses pages of it', () => {
    verifyPage(0, listRoot(EMPTY_LIST), 0, [], []);
    expect(() => verifyPage(0, listRoot(EMPTY_LIST), 0, [1], [])).toThrow();
    expect(() => verifyPage(1, listRoot(appendList(EMPTY_LIST, 1)), 0, [], [])).toThrow();
  });
});
