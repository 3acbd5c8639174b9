/**
 * `index verify`: rebuild the map from the input log alone and compare it with every map root
 * the output log committed to. The output log's revisions are read and verified first (their
 * leaves hash to its signed checkpoint); then, revision by revision, the input entries up to the
 * revision's input checkpoint (whose signature is checked with the input log's key) are read in
 * verified chunks and mapped into a scratch map.
 */
import { equal } from '../bytes.ts';
import type { TlogClient } from '../client/index.ts';
import type { Hash } from '../merkle/index.ts';
import type { NoteVerifier } from '../note/index.ts';
import type { LocalMap } from '../storage/index.ts';
import { EMPTY_EDGE } from '../tiles/index.ts';
import { readChunk } from './follow.ts';
import { openInput, parseRevision } from './revision.ts';
import { EMPTY_STATE, MapStore } from './store.ts';
import { EMPTY_MAP_ROOT } from './trie.ts';

/** AuditOptions names the two logs, the input log's keys and a scratch map. */
export interface AuditOptions {
  readonly output: TlogClient;
  readonly input: TlogClient;
  readonly inputVerifiers: readonly NoteVerifier[];
  /** scratch is an empty LocalMap for the rebuilt map. */
  readonly scratch: LocalMap;
  readonly chunk?: number;
  readonly progress?: (done: number, total: number) => void;
}

/** AuditResult says how many revisions were checked and the first that differs, if any. */
export interface AuditResult {
  readonly revisions: number;
  readonly firstDiffering?: {
    readonly revision: number;
    readonly inputSize: number;
    readonly committed: Hash;
    readonly rebuilt: Hash;
  };
}

/** auditIndex rebuilds the map and compares it with every committed root (throws 'corrupt' on bad logs). */
export async function auditIndex(o: AuditOptions): Promise<AuditResult> {
  const { checkpoint } = await o.output.checkpoint();
  const leaves: Uint8Array[] = [];
  for await (const { entry } of o.output.follow(EMPTY_EDGE, checkpoint)) leaves.push(entry);
  const map = new MapStore(o.scratch);
  let s = EMPTY_STATE;
  for (let i = 0; i < leaves.length; i++) {
    const r = parseRevision(leaves[i]!);
    const cp = openInput(r, o.inputVerifiers);
    do {
      const c = await readChunk(o.input, s.edge, cp, o.chunk ?? 16_384);
      s = await map.apply(s, c.entries, { ...s, edge: c.edge });
      o.progress?.(c.edge.size, cp.size);
    } while (s.edge.size < cp.size);
    const rebuilt = s.root?.hash ?? EMPTY_MAP_ROOT;
    if (!equal(rebuilt, r.mapRoot)) {
      return {
        revisions: leaves.length,
        firstDiffering: { revision: i, inputSize: cp.size, committed: r.mapRoot, rebuilt },
      };
    }
  }
  return { revisions: leaves.length };
}
