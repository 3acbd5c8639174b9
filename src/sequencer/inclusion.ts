/**
 * Checking many inclusion proofs in one tree cheaply: a frontend checks every proof a forward
 * answer carries before it answers its submitters with them. Owned by InclusionChecker: the
 * computation states of the proofs it accepted, for one tree.
 */
import { equal } from '../bytes.ts';
import { type Hash, HASH_SIZE, nodeHash } from '../merkle/index.ts';

// The computation's state after a proof hash: the node it reached, (level, fn) in RFC 9162
// 2.1.3.2's terms (sn follows from the level and the size), its hash and the rest of the proof.
interface ProofState {
  readonly r: Hash;
  readonly proof: readonly Hash[];
  readonly next: number;
}

/**
 * InclusionChecker checks inclusion proofs in one tree, each with exactly checkInclusion's
 * verdict (RFC 9162 2.1.3.2), hashing only until the computation reaches a state (node, hash, and
 * the same remaining proof hashes) that a proof accepted before passed through: from there the
 * two computations are the same steps on the same values, so they end at the same root. Proofs
 * of neighbouring leaves (a forwarded batch) share all but their lowest levels: ~2 hashes each
 * instead of one per level.
 */
export class InclusionChecker {
  private readonly size: number;
  private readonly root: Hash;
  private readonly seen = new Map<string, ProofState>();

  constructor(size: number, root: Hash) {
    this.size = size;
    this.root = root;
  }

  /** check says whether proof shows leaf at index in this tree. */
  check(index: number, leaf: Hash, proof: readonly Hash[]): boolean {
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.size)) return false;
    if (leaf.length !== HASH_SIZE || proof.some((h) => h.length !== HASH_SIZE)) return false;
    let fn = index;
    let sn = this.size - 1;
    let level = 0;
    let r = leaf;
    const states: [string, ProofState][] = [];
    for (let k = 0; k < proof.length; k++) {
      if (sn === 0) return false; // too long
      const p = proof[k]!;
      if (fn % 2 === 1 || fn === sn) {
        r = nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
          level++;
        }
      } else {
        r = nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
      level++;
      const key = `${level}/${fn}`;
      const state = { r, proof, next: k + 1 };
      states.push([key, state]);
      if (this.passed(key, state)) return this.accept(states);
    }
    return sn === 0 && equal(r, this.root) && this.accept(states);
  }

  // passed says whether an accepted proof went through this state.
  private passed(key: string, s: ProofState): boolean {
    const t = this.seen.get(key);
    if (!t || !equal(t.r, s.r) || t.proof.length - t.next !== s.proof.length - s.next) return false;
    for (let i = 0; i < s.proof.length - s.next; i++)
      if (!equal(t.proof[t.next + i]!, s.proof[s.next + i]!)) return false;
    return true;
  }

  private accept(states: readonly [string, ProofState][]): true {
    for (const [key, s] of states) if (!this.seen.has(key)) this.seen.set(key, s);
    return true;
  }
}
