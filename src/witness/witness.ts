/**
 * A C2SP tlog-witness (tlog-witness, HEAD 5ba5ee8): `add-checkpoint` cosigns a checkpoint only
 * if it is consistent with the last one it cosigned for that origin, and records the new one
 * durably before answering; `sign-subtree` cosigns a subtree of a checkpoint this witness
 * cosigned; the monitoring retrieval serves the last cosigned checkpoint of each log. The check
 * and the update of add-checkpoint run under one lock per origin, so two concurrent requests can
 * never both be cosigned from the same old size (the spec's rollback race).
 */
import { equal, fromBase64, toBase64, toHex, utf8 } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { LogError } from '../errors.ts';
import {
  checkConsistency,
  checkSubtreeConsistency,
  EMPTY_ROOT,
  type Hash,
  isValidSubtree,
} from '../merkle/index.ts';
import {
  ALG_MLDSA44,
  type Checkpoint,
  type Cosigner,
  formatCheckpoint,
  NoteError,
  type NoteVerifier,
  openNote,
  parseCheckpoint,
  parseCosignerKey,
  peekCheckpoint,
  splitNote,
} from '../note/index.ts';
import type { LocalMap } from '../storage/index.ts';
import { type AddCheckpointRequest, parseRequest, parseSubtreeRequest } from './request.ts';

/**
 * WitnessOutcome is what became of a request (tlog-witness): cosigned; malformed (400);
 * unknown_log (404: origin not witnessed, or no checkpoint to serve); untrusted (403: no valid
 * signature by a trusted key, or an invalid one); conflict (409: old size is not the recorded
 * size); inconsistent (422: the proof or checkpoint contradicts the recorded tree).
 * api/errors.ts maps each to its HTTP status.
 */
export type WitnessOutcome =
  'cosigned' | 'malformed' | 'unknown_log' | 'untrusted' | 'conflict' | 'inconsistent';

/** WitnessAnswer is an answer of the witness: its outcome and body. */
export interface WitnessAnswer {
  readonly outcome: WitnessOutcome;
  readonly body: string;
  readonly contentType: string;
}

/** WitnessedLog is a log the witness knows: its origin and its verifier keys. */
export interface WitnessedLog {
  readonly origin: string;
  /** verifiers are note keys (Ed25519, ECDSA) or ML-DSA-44 cosigner keys (tlog-checkpoint). */
  readonly verifiers: readonly NoteVerifier[];
}

const text = (outcome: WitnessOutcome, body: string): WitnessAnswer => ({
  outcome,
  body: body + '\n',
  contentType: 'text/plain; charset=utf-8',
});
const reason = (err: unknown): string => {
  if (!(err instanceof LogError)) throw err;
  return err.message;
};

/** Recorded is the tree a cosigner last vouched for: its size and root hash. */
export interface Recorded {
  readonly size: number;
  readonly root: Hash;
}

/** originHash is the hex SHA-256 of an origin: its monitoring path segment (tlog-witness). */
export function originHash(origin: string): string {
  return toHex(sha256(utf8(origin)));
}

/** Witness answers tlog-witness requests for a set of logs, keeping state in a LocalMap. */
export class Witness {
  private logs: Map<string, WitnessedLog>;
  private readonly cosigners: readonly Cosigner[];
  private readonly own: readonly NoteVerifier[];
  private readonly state: LocalMap;
  private readonly now: () => number;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    logs: readonly WitnessedLog[],
    cosigners: readonly Cosigner[],
    state: LocalMap,
    now = () => Math.floor(Date.now() / 1000),
  ) {
    this.logs = new Map(logs.map((l) => [l.origin, l]));
    this.cosigners = cosigners;
    this.own = cosigners.map((c) => parseCosignerKey(c.verifierKey));
    this.state = state;
    this.now = now;
  }

  /** origins lists the witnessed logs. */
  origins(): string[] {
    return [...this.logs.keys()];
  }

  /**
   * setLogs replaces the witnessed logs, at once for every later request; the recorded state of
   * a removed log is kept, so adding it back resumes from its last cosigned checkpoint.
   */
  setLogs(logs: readonly WitnessedLog[]): { added: string[]; removed: string[] } {
    const next = new Map(logs.map((l) => [l.origin, l]));
    const added = [...next.keys()].filter((o) => !this.logs.has(o));
    const removed = [...this.logs.keys()].filter((o) => !next.has(o));
    this.logs = next;
    return { added, removed };
  }

  /** signsSubtrees reports whether the witness has a key that can sign subtrees (ML-DSA-44). */
  get signsSubtrees(): boolean {
    return this.cosigners.some((c) => c.cosignSubtree);
  }

  /** addCheckpoint handles one add-checkpoint body. */
  async addCheckpoint(body: string): Promise<WitnessAnswer> {
    const opened = openAddCheckpoint(this.logs, body);
    if ('outcome' in opened) return opened;
    const { req, cp, sigs } = opened;
    return this.serialized(cp.origin, () => this.check(req.old, req.proof, cp, sigs));
  }

  private async check(
    old: number,
    proof: Hash[],
    cp: Checkpoint,
    logSigs: string,
  ): Promise<WitnessAnswer> {
    const refused = checkAgainst(old, proof, cp, await this.recorded(cp.origin));
    if (refused) return refused;
    const body = formatCheckpoint(cp);
    const timestamp = this.now();
    const cosignatures = (
      await Promise.all(this.cosigners.map((c) => c.cosign(body, timestamp)))
    ).join('');
    // Durable before answering: a cosignature is a promise never to sign a fork of it. The
    // checkpoint served to monitors is written in the same batch.
    await this.state.put(
      [
        { key: `log/${cp.origin}`, value: utf8(`${cp.size}\n${toBase64(cp.root)}\n`) },
        {
          key: `checkpoint/${originHash(cp.origin)}`,
          value: utf8(`${body}\n${logSigs}${cosignatures}`),
        },
      ],
      { sync: true },
    );
    return { outcome: 'cosigned', body: cosignatures, contentType: 'text/plain; charset=utf-8' };
  }

  /**
   * signSubtree handles one sign-subtree body (tlog-witness, "sign-subtree"): 400 for a
   * malformed body or a range that is not a subtree of the checkpoint, 404 for an unknown
   * origin, 403 unless the checkpoint carries a valid cosignature by this witness and agrees with
   * its record, 422 for a proof that does not verify; it changes no state.
   */
  signSubtree(body: string): Promise<WitnessAnswer> {
    return answerSignSubtree(body, {
      known: (origin) => this.logs.has(origin),
      own: this.own,
      cosigners: this.cosigners,
      recorded: (origin) => this.recorded(origin),
    });
  }

  /**
   * checkpoint answers the monitoring retrieval for an origin hash: the last cosigned checkpoint
   * with the log's verified signatures and the witness's cosignatures, or 404 if there is none.
   */
  async checkpoint(hash: string): Promise<WitnessAnswer> {
    const v = /^[0-9a-f]{64}$/.test(hash) ? await this.state.get(`checkpoint/${hash}`) : undefined;
    if (!v) return text('unknown_log', 'no checkpoint cosigned for this origin hash');
    const body = new TextDecoder().decode(v);
    return { outcome: 'cosigned', body, contentType: 'text/plain; charset=utf-8' };
  }

  private async recorded(origin: string): Promise<Recorded> {
    const v = await this.state.get(`log/${origin}`);
    if (!v) return { size: 0, root: EMPTY_ROOT };
    const [size, root] = new TextDecoder().decode(v).split('\n');
    const r = fromBase64(root ?? '');
    if (!r || r.length !== 32)
      throw new LogError('corrupt', `witness: stored state for ${origin} is malformed`);
    return { size: Number(size), root: r };
  }

  private serialized<T>(origin: string, f: () => Promise<T>): Promise<T> {
    const run = (this.locks.get(origin) ?? Promise.resolve()).then(f);
    this.locks.set(
      origin,
      run.catch(() => undefined),
    );
    return run;
  }
}

// isMlDsa reports whether the log's verifier of that name and key hash is an ML-DSA-44 key.
function isMlDsa(log: WitnessedLog, name: string, keyHash: number): boolean {
  const v = log.verifiers.find((k) => k.name === name && k.keyHash === keyHash);
  return v !== undefined && 'alg' in v && v.alg === ALG_MLDSA44;
}

/**
 * openAddCheckpoint reads an add-checkpoint body up to the checks against the recorded tree
 * (tlog-witness, shared by the witness and the mirror): 400 for a malformed body or an old size
 * above the checkpoint's, else as openLogCheckpoint. It returns the request, the checkpoint and
 * the log's verified signature lines, or the answer refusing it.
 */
export function openAddCheckpoint(
  logs: ReadonlyMap<string, WitnessedLog>,
  body: string,
): { req: AddCheckpointRequest; cp: Checkpoint; sigs: string } | WitnessAnswer {
  const req = parseRequest(body);
  if (typeof req === 'string') return text('malformed', req);
  const opened = openLogCheckpoint(logs, req.note);
  if ('outcome' in opened) return opened;
  if (req.old > opened.cp.size)
    return text('malformed', `old size ${req.old} is above the checkpoint size ${opened.cp.size}`);
  return { req, ...opened };
}

/**
 * openLogCheckpoint opens a checkpoint note for add-checkpoint (tlog-witness): 404 for an unknown
 * origin, 403 without a valid signature by a key of the log (or with a bad one), 400 for a note
 * or checkpoint that does not parse. It returns the checkpoint and the log's verified signature
 * lines, or the answer refusing it.
 */
export function openLogCheckpoint(
  logs: ReadonlyMap<string, WitnessedLog>,
  note: string,
): { cp: Checkpoint; sigs: string } | WitnessAnswer {
  const origin = peekCheckpoint(note).origin;
  const log = logs.get(origin);
  if (!log)
    return text('unknown_log', `unknown log origin ${JSON.stringify(origin.slice(0, 100))}`);
  try {
    const opened = openNote(note, log.verifiers);
    const cp = parseCheckpoint(opened.text);
    const sigs = opened.sigs.map((s) => `\u2014 ${s.name} ${s.base64}\n`).join('');
    // An ML-DSA-44 signature does not cover extension lines (tlog-checkpoint): cosigning them
    // with Ed25519, which does, needs a log signature that covered them.
    const covering = opened.sigs.some((s) => !isMlDsa(log, s.name, s.keyHash));
    if (cp.extensions.length > 0 && !covering)
      return text('untrusted', 'no verified log signature covers the extension lines');
    return { cp, sigs };
  } catch (err) {
    // A note with no trusted signature, or a bad one by a trusted key, is untrusted (403).
    const untrusted = err instanceof NoteError && err.reason !== 'malformed';
    return text(untrusted ? 'untrusted' : 'malformed', reason(err));
  }
}

/**
 * checkAgainst applies add-checkpoint's checks of cp against the recorded tree (tlog-witness):
 * 409 (text/x.tlog.size) when old is not the recorded size, 422 when the checkpoint or the proof
 * contradicts it. It returns null when cp may be recorded.
 */
export function checkAgainst(
  old: number,
  proof: Hash[],
  cp: Checkpoint,
  recorded: Recorded,
): WitnessAnswer | null {
  if (old !== recorded.size)
    return { outcome: 'conflict', body: `${recorded.size}\n`, contentType: 'text/x.tlog.size' };
  if (cp.size === 0 && !equal(cp.root, EMPTY_ROOT))
    return text('inconsistent', 'a checkpoint of size 0 must have the empty tree root');
  if (old === 0 && proof.length > 0)
    return text('inconsistent', 'a consistency proof from size 0 must be empty');
  if (old > 0) {
    try {
      checkConsistency(old, cp.size, recorded.root, cp.root, proof);
    } catch (err) {
      return text('inconsistent', reason(err));
    }
  }
  return null;
}

/** SubtreeCosigning is what sign-subtree needs of a cosigner (a witness or a mirror). */
export interface SubtreeCosigning {
  /** known reports whether the origin is one of the cosigner's logs. */
  known(origin: string): boolean;
  /** own are the cosigner's verifier keys: the reference checkpoint must carry one's signature. */
  readonly own: readonly NoteVerifier[];
  readonly cosigners: readonly Cosigner[];
  /** recorded is the tree the cosigner last cosigned for the origin. */
  recorded(origin: string): Promise<Recorded>;
}

/**
 * answerSignSubtree handles one sign-subtree body (tlog-witness, "sign-subtree"): 400 for a
 * malformed body or a range that is not a subtree of the checkpoint, 404 for an unknown
 * origin, 403 unless the checkpoint carries a valid cosignature by this cosigner and agrees with
 * its record, 422 for a proof that does not verify; it changes no state.
 */
export async function answerSignSubtree(body: string, c: SubtreeCosigning): Promise<WitnessAnswer> {
  const req = parseSubtreeRequest(body);
  if (typeof req === 'string') return text('malformed', req);
  let cp: Checkpoint;
  try {
    cp = parseCheckpoint(splitNote(req.note)?.text ?? '');
  } catch (err) {
    return text('malformed', reason(err));
  }
  if (!isValidSubtree(req.start, req.end))
    return text('malformed', `[${req.start}, ${req.end}) is not a valid subtree`);
  if (req.end > cp.size)
    return text('malformed', `subtree end ${req.end} is above the checkpoint size ${cp.size}`);
  if (!c.known(cp.origin))
    return text('unknown_log', `unknown log origin ${JSON.stringify(cp.origin.slice(0, 100))}`);
  try {
    openNote(req.note, c.own);
  } catch (err) {
    const untrusted = err instanceof NoteError && err.reason !== 'malformed';
    return text(untrusted ? 'untrusted' : 'malformed', reason(err));
  }
  // Our cosignature says we checked it; our record must agree (it may have grown since).
  const recorded = await c.recorded(cp.origin);
  if (cp.size > recorded.size || (cp.size === recorded.size && !equal(cp.root, recorded.root)))
    return text('untrusted', 'the checkpoint does not agree with the recorded one');
  try {
    checkSubtreeConsistency(req.start, req.end, cp.size, req.hash, cp.root, req.proof);
  } catch (err) {
    return text('inconsistent', reason(err));
  }
  const lines = c.cosigners.flatMap((k) =>
    k.cosignSubtree ? [k.cosignSubtree(cp.origin, req.start, req.end, req.hash)] : [],
  );
  return { outcome: 'cosigned', body: lines.join(''), contentType: 'text/plain; charset=utf-8' };
}
