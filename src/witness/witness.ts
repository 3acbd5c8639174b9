/**
 * A C2SP tlog-witness (tlog-witness, HEAD 5ba5ee8, "add-checkpoint"): it cosigns a checkpoint
 * only if it is consistent with the last one it cosigned for that origin, and records the new
 * one durably before answering. The check and the update run under one lock per origin, so two
 * concurrent requests can never both be cosigned from the same old size (the spec's rollback race).
 */
import { equal, fromBase64, toBase64, utf8 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { checkConsistency, EMPTY_ROOT, type Hash } from '../merkle/index.ts';
import {
  type Checkpoint,
  type Cosigner,
  formatCheckpoint,
  NoteError,
  type NoteVerifier,
  openNote,
  parseCheckpoint,
  parseDecimalSize,
} from '../note/index.ts';
import type { LocalMap } from '../storage/index.ts';

/**
 * WitnessOutcome is what became of an add-checkpoint request (tlog-witness, "add-checkpoint"):
 * cosigned; malformed; unknown_log (origin not witnessed); untrusted (no valid signature by the
 * log's keys, or an invalid one); conflict (old size is not the recorded size); inconsistent (the
 * proof or checkpoint contradicts the recorded tree). api/errors.ts maps each to its HTTP status.
 */
export type WitnessOutcome =
  'cosigned' | 'malformed' | 'unknown_log' | 'untrusted' | 'conflict' | 'inconsistent';

/** WitnessAnswer is an answer of add-checkpoint: its outcome and body. */
export interface WitnessAnswer {
  readonly outcome: WitnessOutcome;
  readonly body: string;
  readonly contentType: string;
}

/** WitnessedLog is a log the witness knows: its origin and its verifier keys. */
export interface WitnessedLog {
  readonly origin: string;
  readonly verifiers: readonly NoteVerifier[];
}

const MAX_PROOF_LINES = 63;
const text = (outcome: WitnessOutcome, body: string): WitnessAnswer => ({
  outcome,
  body: body + '\n',
  contentType: 'text/plain; charset=utf-8',
});

interface Recorded {
  readonly size: number;
  readonly root: Hash;
}

/** Witness answers add-checkpoint requests for a set of logs, keeping state in a LocalMap. */
export class Witness {
  private readonly logs: Map<string, WitnessedLog>;
  private readonly cosigners: readonly Cosigner[];
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
    this.state = state;
    this.now = now;
  }

  /** addCheckpoint handles one request body. */
  async addCheckpoint(body: string): Promise<WitnessAnswer> {
    const req = parseRequest(body);
    if (typeof req === 'string') return text('malformed', req);
    const origin = req.note.slice(0, req.note.indexOf('\n'));
    const log = this.logs.get(origin);
    if (!log)
      return text('unknown_log', `unknown log origin ${JSON.stringify(origin.slice(0, 100))}`);
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(openNote(req.note, log.verifiers).text);
    } catch (err) {
      if (!(err instanceof LogError)) throw err;
      // A note with no trusted signature, or a bad one by a trusted key, is untrusted (403).
      const untrusted = err instanceof NoteError && err.reason !== 'malformed';
      return text(untrusted ? 'untrusted' : 'malformed', err.message);
    }
    if (req.old > cp.size)
      return text('malformed', `old size ${req.old} is above the checkpoint size ${cp.size}`);
    return this.serialized(origin, () => this.check(origin, req.old, req.proof, cp));
  }

  private async check(
    origin: string,
    old: number,
    proof: Hash[],
    cp: Checkpoint,
  ): Promise<WitnessAnswer> {
    const recorded = await this.recorded(origin);
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
        if (!(err instanceof LogError)) throw err;
        return text('inconsistent', err.message);
      }
    }
    // Durable before answering: a cosignature is a promise never to sign a fork of it.
    await this.state.put(
      [{ key: `log/${origin}`, value: utf8(`${cp.size}\n${toBase64(cp.root)}\n`) }],
      { sync: true },
    );
    const body = formatCheckpoint(cp);
    const timestamp = this.now();
    return {
      outcome: 'cosigned',
      body: this.cosigners.map((c) => c.cosign(body, timestamp)).join(''),
      contentType: 'text/plain; charset=utf-8',
    };
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

/** parseRequest parses an add-checkpoint body strictly, or returns the reason it is malformed. */
export function parseRequest(body: string): { old: number; proof: Hash[]; note: string } | string {
  const lines = body.split('\n');
  const m = /^old (0|[1-9][0-9]*)$/.exec(lines[0] ?? '');
  if (!m) return 'first line must be "old <size>"';
  let old: number;
  try {
    old = parseDecimalSize(m[1]!, 'old size');
  } catch (err) {
    if (!(err instanceof LogError)) throw err;
    return err.message;
  }
  const proof: Hash[] = [];
  let i = 1;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const h = fromBase64(lines[i]!);
    if (!h || h.length !== 32) return `proof line ${i} is not a base64 SHA-256 hash`;
    proof.push(h);
  }
  if (i >= lines.length) return 'missing the empty line before the checkpoint';
  if (proof.length > MAX_PROOF_LINES) return `more than ${MAX_PROOF_LINES} proof lines`;
  const note = lines.slice(i + 1).join('\n');
  if (note === '') return 'missing checkpoint';
  return { old, proof, note };
}
