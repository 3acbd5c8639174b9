/**
 * A C2SP tlog-mirror (HEAD 5ba5ee8): `add-checkpoint` updates a log's pending checkpoint as a
 * witness would, without cosigning it; `add-entries` authenticates entry packages against a
 * pending checkpoint and stores them, then makes that checkpoint the mirror checkpoint with the
 * mirror's cosignatures; `sign-subtree` cosigns subtrees of the mirror checkpoint. The body
 * checks and the witness's own steps come from src/witness; the state of each log is a
 * MirrorCopy (copy.ts).
 */
import { EMPTY_ROOT } from '../merkle/index.ts';
import {
  type Cosigner,
  formatCheckpoint,
  type NoteVerifier,
  openNote,
  parseCosignerKey,
} from '../note/index.ts';
import {
  answerSignSubtree,
  checkAgainst,
  openAddCheckpoint,
  type WitnessAnswer,
  type WitnessedLog,
  type WitnessOutcome,
} from '../witness/index.ts';
import {
  formatMirrorInfo,
  MIRROR_INFO_TYPE,
  packageRanges,
  parseHeader,
  parsePackage,
} from './body.ts';
import type { MirrorCopy, Signed } from './copy.ts';
import { type ByteReader, runParser } from './stream.ts';

/**
 * MirrorOutcome is what became of a mirror request: a witness outcome ('cosigned' is 200, with or
 * without cosignatures), 'accepted' (202: a prefix of the packages was stored) or 'unsupported'
 * (415: an add-entries body of another content type or encoding). api/errors.ts maps each to
 * its status.
 */
export type MirrorOutcome = WitnessOutcome | 'accepted' | 'unsupported';

/** MirrorAnswer is an answer of the mirror: its outcome, body and content type. */
export interface MirrorAnswer {
  readonly outcome: MirrorOutcome;
  readonly body: string;
  readonly contentType: string;
}

/**
 * MAX_EXCESS is the most entries an add-entries request may send again below the next entry
 * (tlog-mirror: "if excess_entries is too large", 409): one request's worth (32 packages).
 */
export const MAX_EXCESS = 8192;

const PLAIN = 'text/plain; charset=utf-8';
const text = (outcome: MirrorOutcome, body: string): MirrorAnswer => ({
  outcome,
  body: body + '\n',
  contentType: PLAIN,
});

/** MirrorEvents observe the mirror, for metrics; they must not throw. */
export interface MirrorEvents {
  /** checkpoint: an add-checkpoint for origin (a mirrored log) got outcome. */
  checkpoint?(origin: string, outcome: MirrorOutcome): void;
  /** stored: entries of origin were authenticated and stored (one package). */
  stored?(origin: string, entries: number): void;
  /** subtree: a subtree of origin's mirror checkpoint was cosigned. */
  subtree?(origin: string): void;
  /** mirrored: origin's mirror checkpoint is now the one of size. */
  mirrored?(origin: string, size: number): void;
}

/** Mirror answers tlog-mirror requests for a set of logs, one MirrorCopy each. */
export class Mirror {
  private readonly copies: Map<string, MirrorCopy>;
  private readonly logs: Map<string, WitnessedLog>;
  private readonly cosigners: readonly Cosigner[];
  private readonly own: readonly NoteVerifier[];
  private readonly now: () => number;
  /** onMirrored is told of each new mirror checkpoint (the server reloads what it serves). */
  onMirrored: (copy: MirrorCopy) => Promise<void> = async () => undefined;
  /** events are told what the mirror accepts, stores and cosigns. */
  events: MirrorEvents = {};

  constructor(
    copies: readonly MirrorCopy[],
    cosigners: readonly Cosigner[],
    now = () => Math.floor(Date.now() / 1000),
  ) {
    this.copies = new Map(copies.map((c) => [c.log.origin, c]));
    this.logs = new Map(copies.map((c) => [c.log.origin, c.log]));
    this.cosigners = cosigners;
    this.own = cosigners.map((c) => parseCosignerKey(c.verifierKey));
    this.now = now;
  }

  /** copy returns the copy of origin, if it is mirrored. */
  copy(origin: string): MirrorCopy | undefined {
    return this.copies.get(origin);
  }

  /** signsSubtrees reports whether the mirror has a key that can sign subtrees (ML-DSA-44). */
  get signsSubtrees(): boolean {
    return this.cosigners.some((c) => c.cosignSubtree);
  }

  /**
   * addCheckpoint handles one add-checkpoint body (tlog-mirror, "add-checkpoint"): as a witness,
   * against the latest pending checkpoint, which it durably replaces; 200 with an empty body.
   */
  async addCheckpoint(body: string): Promise<MirrorAnswer> {
    const opened = openAddCheckpoint(this.logs, body);
    if ('outcome' in opened) return opened;
    const { req, cp, sigs } = opened;
    const copy = this.copies.get(cp.origin)!;
    const answer = await copy.serialized(async (): Promise<MirrorAnswer> => {
      const refused = checkAgainst(req.old, req.proof, cp, copy.recorded());
      if (refused) return refused;
      // Only the log's verified signatures are kept: the mirror checkpoint must not carry lines
      // that anyone could have added (a bad one by a key a client trusts spoils the note).
      await copy.setPending({ note: `${formatCheckpoint(cp)}\n${sigs}`, checkpoint: cp });
      return { outcome: 'cosigned', body: '', contentType: PLAIN };
    });
    this.events.checkpoint?.(cp.origin, answer.outcome);
    return answer;
  }

  /** signSubtree handles one sign-subtree body, against the mirror checkpoint (tlog-mirror). */
  async signSubtree(body: string): Promise<WitnessAnswer> {
    let seen = '';
    const answer = await answerSignSubtree(body, {
      known: (origin) => this.copies.has((seen = origin)),
      own: this.own,
      cosigners: this.cosigners,
      recorded: async (origin) => {
        const m = this.copies.get(origin)?.mirrored?.checkpoint;
        return m ? { size: m.size, root: m.root } : { size: 0, root: EMPTY_ROOT };
      },
    });
    if (answer.outcome === 'cosigned') this.events.subtree?.(seen);
    return answer;
  }

  /**
   * addEntries handles one add-entries body as it streams in (tlog-mirror, "Processing"): the
   * header's checks (404, 422, 409), then each package in turn, authenticated and stored before
   * the next is read (422 for one that does not verify, and processing ends); a body that ends
   * early is 202 if a package was stored and 400 if none was; once all are stored, the pending
   * checkpoint of size upload_end becomes the mirror checkpoint (200 with its cosignatures).
   */
  async addEntries(reader: ByteReader): Promise<MirrorAnswer> {
    const header = await runParser(parseHeader(), reader);
    if (typeof header === 'string') return text('malformed', header);
    const { origin, start, end } = header;
    const copy = this.copies.get(origin);
    if (!copy)
      return text('unknown_log', `unknown log origin ${JSON.stringify(origin.slice(0, 100))}`);
    const latest = copy.latest;
    if (!latest) return text('inconsistent', 'no pending checkpoint: add-checkpoint first');
    const target = copy.checkpointAt(end);
    const mirroredSize = copy.mirrored?.checkpoint.size ?? 0;
    if (!target || end < mirroredSize) return info('conflict', latest.checkpoint.size, copy);
    if (start > copy.next || Math.min(end, copy.next) - start > MAX_EXCESS)
      return info('conflict', end, copy);
    const ranges = packageRanges(start, end);
    let stored = 0;
    let why = 'the body holds no entry package';
    for (const r of ranges) {
      if (await reader.atEnd()) break;
      const pkg = await runParser(parsePackage(r), reader);
      if (typeof pkg === 'string') {
        why = pkg;
        break;
      }
      const failed = await copy.addPackage(r, pkg.entries, pkg.proof, target.checkpoint);
      if (failed) return text('inconsistent', failed);
      this.events.stored?.(origin, pkg.entries.length);
      stored++;
    }
    // Bytes after the last package are discarded, as partial bytes are (tlog-mirror).
    if (stored < ranges.length)
      return stored === 0 ? text('malformed', why) : info('accepted', end, copy);
    return copy.serialized(() => this.finish(copy, target));
  }

  // finish makes target the mirror checkpoint unless it would rewind it; see addEntries.
  private async finish(copy: MirrorCopy, target: Signed): Promise<MirrorAnswer> {
    const mirrored = copy.mirrored;
    const size = target.checkpoint.size;
    if (mirrored && size < mirrored.checkpoint.size)
      return info('conflict', copy.latest!.checkpoint.size, copy);
    if (mirrored && size === mirrored.checkpoint.size)
      return { outcome: 'cosigned', body: this.ownLines(mirrored.note), contentType: PLAIN };
    const body = formatCheckpoint(target.checkpoint);
    const timestamp = this.now();
    const lines = (await Promise.all(this.cosigners.map((c) => c.cosign(body, timestamp)))).join(
      '',
    );
    // Durable before answering (tlog-mirror: "MUST persist the new checkpoint").
    await copy.commitCheckpoint(target.note + lines, target.checkpoint);
    this.events.mirrored?.(copy.log.origin, size);
    await this.onMirrored(copy);
    return { outcome: 'cosigned', body: lines, contentType: PLAIN };
  }

  // ownLines returns the mirror's cosignature lines in a stored mirror checkpoint note.
  private ownLines(note: string): string {
    const mine = new Set(openNote(note, this.own).sigs.map((s) => s.base64));
    const lines = note.split('\n').filter((l) => l.startsWith('\u2014 '));
    return lines
      .filter((l) => mine.has(l.slice(l.lastIndexOf(' ') + 1)))
      .map((l) => l + '\n')
      .join('');
  }
}

// info answers 409 or 202 with the text/x.tlog.mirror-info body (tlog-mirror). The ticket is
// always empty: the mirror keeps its recent pending checkpoints itself.
function info(outcome: 'conflict' | 'accepted', size: number, copy: MirrorCopy): MirrorAnswer {
  const body = formatMirrorInfo({ size, next: copy.next, ticket: new Uint8Array(0) });
  return { outcome, body, contentType: MIRROR_INFO_TYPE };
}
