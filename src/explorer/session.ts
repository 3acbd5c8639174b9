/**
 * The explorer's verification, apart from its pages: settings, a fetch with a timeout and a cache
 * of tiles (a tile path names immutable bytes), the checkpoint with every signature line read and
 * its consistency with the last checkpoint this browser saw, and entries with their inclusion
 * proofs. Pure apart from the injected fetch and key-value store (localStorage in a browser).
 */
import { equal, fromBase64 } from '../bytes.ts';
import { TlogClient } from '../client/index.ts';
import { LogError } from '../errors.ts';
import { checkInclusion, type Hash, leafHash } from '../merkle/index.ts';
import {
  ALG_COSIGNATURE_V1,
  type Checkpoint,
  cosignatureTimestamp,
  keyHashHex,
  type NoteVerifier,
  openNote,
  parseCheckpoint,
  parseCosignerKey,
  parseVerifierKey,
} from '../note/index.ts';
import { bundleForIndex, decodeBundle, tilePath } from '../tiles/index.ts';

/** Settings say which log and index to show and whom to trust. */
export interface Settings {
  /** log is the log's tlog-tiles prefix URL (…/checkpoint, …/tile/…). */
  readonly log: string;
  readonly vkey: string;
  /** index is the verifiable index's prefix URL (…/lookup), if any. */
  readonly index: string | null;
  readonly indexVkey: string | null;
  /** witnesses are cosigner verifier keys whose cosignatures are checked. */
  readonly witnesses: readonly string[];
}

/** KV is the part of localStorage the explorer uses. */
export interface KV {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

/** SigLine is one signature line of a checkpoint, as shown. */
export interface SigLine {
  readonly name: string;
  readonly keyHash: string;
  readonly role: 'log' | 'witness' | 'unknown';
  readonly keyType: string;
  /** time is a cosignature's timestamp (POSIX seconds), if the line carries one. */
  readonly time: number | null;
  /** verified: the signature was checked with a configured key; false: no key to check it. */
  readonly verified: boolean;
}

/** Consistency says how a checkpoint relates to the last one this browser saw. */
export type Consistency =
  | { readonly kind: 'first' }
  | { readonly kind: 'same' | 'consistent'; readonly size: number }
  | { readonly kind: 'older'; readonly size: number };

/** CheckpointReport is a verified checkpoint with everything the checkpoint view shows. */
export interface CheckpointReport {
  readonly note: string;
  readonly checkpoint: Checkpoint;
  readonly sigs: readonly SigLine[];
  readonly consistency: Consistency;
  readonly history: readonly [number, number][];
}

/** Included is an entry whose inclusion in a verified checkpoint was checked. */
export interface Included {
  readonly index: number;
  readonly entry: Uint8Array;
  readonly leaf: Hash;
  readonly proof: readonly Hash[];
  readonly bundlePath: string;
}

/**
 * SplitView is a checkpoint, signed by the log, that is inconsistent with the one this browser
 * saw before: both notes are kept to be shown, since that pair is the evidence.
 */
export class SplitView extends LogError {
  readonly note: string;
  readonly seen: string;
  constructor(message: string, note: string, seen: string) {
    super('corrupt', message);
    this.name = 'SplitView';
    this.note = note;
    this.seen = seen;
  }
}

const TIMEOUT_MS = 15_000;
const MAX_HISTORY = 500;

/** timedFetch wraps fetch with a timeout, a cache of tile responses and typed failures. */
export function timedFetch(
  base: typeof globalThis.fetch,
  timeoutMs = TIMEOUT_MS,
): typeof globalThis.fetch {
  const tiles = new Map<string, Uint8Array>();
  return (async (input: string) => {
    const hit = tiles.get(input);
    if (hit) return new Response(hit.slice());
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      // no-cache: revalidate, so a checkpoint is never older than the log's (RequestInit has
      // `cache` in browsers, not in Node's types).
      const init = { signal: ctl.signal, cache: 'no-cache' } as RequestInit;
      const res = await base(input, init);
      if (!res.ok || !/\/tile\//.test(input)) return res;
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (tiles.size > 1024) tiles.delete(tiles.keys().next().value!);
      tiles.set(input, bytes);
      return new Response(bytes.slice());
    } catch (cause) {
      const why = ctl.signal.aborted ? `no answer in ${timeoutMs / 1000} s` : 'unreachable';
      throw new LogError('unavailable', `${input}: ${why}`, { cause });
    } finally {
      clearTimeout(timer);
    }
  }) as typeof globalThis.fetch;
}

// The key type of a configured verifier, or a guess from the signature's length.
function keyTypeOf(v: NoteVerifier | undefined, raw: Uint8Array): string {
  if (v && 'alg' in v)
    return v.alg === ALG_COSIGNATURE_V1 ? 'Ed25519 cosignature/v1' : 'ML-DSA-44 cosignature';
  if (v) return 'Ed25519';
  if (raw.length === 4 + 64) return 'Ed25519 (by length)';
  if (raw.length === 4 + 8 + 64) return 'Ed25519 cosignature/v1 (by length)';
  if (raw.length === 4 + 8 + 2420) return 'ML-DSA-44 cosignature (by length)';
  return 'unknown';
}

/** Session verifies what one log (and its index) serves, for one page load. */
export class Session {
  readonly settings: Settings;
  readonly logVerifier: NoteVerifier;
  readonly witnesses: readonly NoteVerifier[];
  readonly client: TlogClient;
  readonly fetch: typeof globalThis.fetch;
  private readonly kv: KV;

  constructor(settings: Settings, kv: KV, fetch: typeof globalThis.fetch) {
    this.settings = settings;
    this.kv = kv;
    this.fetch = fetch;
    this.logVerifier = parseVerifierKey(settings.vkey);
    this.witnesses = settings.witnesses.map((w) => {
      try {
        return parseCosignerKey(w);
      } catch {
        return parseVerifierKey(w);
      }
    });
    this.client = new TlogClient({ url: settings.log, verifiers: [this.logVerifier], fetch });
  }

  private key(what: string): string {
    return `tilelog-explorer/${what}/${this.logVerifier.name}+${keyHashHex(this.logVerifier.keyHash)}`;
  }

  /** lastSeen is the last checkpoint this browser verified for this log, if any. */
  lastSeen(): Checkpoint | null {
    const note = this.kv.getItem(this.key('seen'));
    if (!note) return null;
    try {
      return parseCheckpoint(openNote(note, [this.logVerifier]).text);
    } catch {
      return null; // not ours to trust any more (a changed key): start over
    }
  }

  /** forget drops the remembered checkpoint and history (after an alarm was looked into). */
  forget(): void {
    this.kv.removeItem(this.key('seen'));
    this.kv.removeItem(this.key('history'));
  }

  /**
   * checkpoint fetches the log's checkpoint, verifies the log's signature and every configured
   * cosignature, and proves it consistent with the last one seen. A failure throws: 'corrupt'
   * for a split view, a NoteError for a bad signature, 'unavailable' when unreachable.
   */
  async checkpoint(): Promise<CheckpointReport> {
    const res = await this.fetch(`${this.settings.log.replace(/\/+$/, '')}/checkpoint`);
    if (!res.ok) throw new LogError('unavailable', `checkpoint: HTTP ${res.status}`);
    const note = await res.text();
    const opened = openNote(note, [this.logVerifier, ...this.witnesses]);
    const mine = (v: NoteVerifier) => (s: { name: string; keyHash: number }) =>
      s.name === v.name && s.keyHash === v.keyHash;
    if (!opened.sigs.some(mine(this.logVerifier)))
      throw new LogError('corrupt', 'checkpoint: not signed by the log key');
    const checkpoint = parseCheckpoint(opened.text);
    const sigs = [...opened.sigs, ...opened.unverifiedSigs].map((s): SigLine => {
      const v = [this.logVerifier, ...this.witnesses].find((k) => mine(k)(s));
      const raw = fromBase64(s.base64)!;
      const timed = raw.length === 4 + 8 + 64 || raw.length === 4 + 8 + 2420;
      return {
        name: s.name,
        keyHash: keyHashHex(s.keyHash),
        role: v === this.logVerifier ? 'log' : v ? 'witness' : 'unknown',
        keyType: keyTypeOf(v, raw),
        time: timed ? cosignatureTimestamp(s.base64) : null,
        verified: v !== undefined,
      };
    });
    let consistency: Consistency;
    try {
      consistency = await this.checkSeen(note, checkpoint);
    } catch (err) {
      if (!(err instanceof LogError) || err.code !== 'corrupt') throw err;
      throw new SplitView(err.message, note, this.kv.getItem(this.key('seen')) ?? '');
    }
    return { note, checkpoint, sigs, consistency, history: this.record(checkpoint) };
  }

  // checkSeen proves cp consistent with the last checkpoint seen, then remembers the larger.
  private async checkSeen(note: string, cp: Checkpoint): Promise<Consistency> {
    const old = this.lastSeen();
    const remember = () => this.kv.setItem(this.key('seen'), note);
    if (!old || old.origin !== cp.origin) {
      remember();
      return { kind: 'first' };
    }
    if (old.size === cp.size) {
      if (!equal(old.root, cp.root))
        throw new LogError(
          'corrupt',
          `checkpoint ${cp.size} has another root than the one this browser saw at that size`,
        );
      return { kind: 'same', size: old.size };
    }
    const [older, newer] = old.size < cp.size ? [old, cp] : [cp, old];
    await this.client.checkConsistent(older, newer);
    if (old.size > cp.size) return { kind: 'older', size: old.size };
    remember();
    return { kind: 'consistent', size: old.size };
  }

  // record adds cp to the tree-size history this browser keeps and returns it.
  private record(cp: Checkpoint): [number, number][] {
    let h: [number, number][] = [];
    try {
      const v: unknown = JSON.parse(this.kv.getItem(this.key('history')) ?? '[]');
      if (Array.isArray(v)) h = v.filter((p) => Array.isArray(p) && p.length === 2);
    } catch {
      h = [];
    }
    const last = h.at(-1);
    if (!last || last[1] !== cp.size) h.push([Date.now(), cp.size]);
    h = h.slice(-MAX_HISTORY);
    this.kv.setItem(this.key('history'), JSON.stringify(h));
    return h;
  }

  /** included reads entry index and checks its inclusion proof against a verified checkpoint. */
  async included(index: number, cp: Checkpoint): Promise<Included> {
    const t = bundleForIndex(index, cp.size);
    const entry = decodeBundle(await this.client.tile(t), t.width)[index % 256]!;
    const leaf = leafHash(entry);
    const proof = await this.client.proveInclusion(index, cp.size);
    try {
      checkInclusion(index, cp.size, leaf, proof, cp.root);
    } catch (err) {
      throw new LogError(
        'corrupt',
        `entry ${index} is not in checkpoint ${cp.size}: ${(err as Error).message}`,
      );
    }
    return { index, entry, leaf, proof, bundlePath: tilePath(t) };
  }
}
