/**
 * CreateEntry, the Rekor v2 write, without its transport: admission, sequencing and the answer,
 * shared by POST /api/v2/log/entries and the gRPC method dev.sigstore.rekor.v2.Rekor/CreateEntry
 * so the two can never admit different entries.
 */
import { toBase64, utf8 } from '../bytes.ts';
import {
  type AdmissionPool,
  admitCreateEntry,
  type AdmitOptions,
  type Admitted,
  KEY_DETAILS,
  type KeyDetails,
} from '../entries/index.ts';
import { LogError } from '../errors.ts';
import { peekCheckpoint } from '../note/index.ts';
import { FROZEN_MESSAGE, type Log } from '../sequencer/index.ts';
import { MAX_ENTRY_SIZE } from '../tiles/index.ts';
import { hashesBase64, noteJson } from './answer.ts';

/**
 * TransparencyLogEntry is dev.sigstore.rekor.v1.TransparencyLogEntry in protojson as rekor-tiles'
 * gateway emits it (int64 as strings, bytes as base64, unpopulated fields present).
 */
export interface TransparencyLogEntry {
  readonly logIndex: string;
  readonly logId: { readonly keyId: string };
  readonly kindVersion: { readonly kind: string; readonly version: string };
  readonly integratedTime: string;
  readonly inclusionPromise: null;
  readonly inclusionProof: {
    readonly logIndex: string;
    readonly rootHash: string;
    readonly treeSize: string;
    readonly hashes: readonly string[];
    readonly checkpoint: { readonly envelope: string };
  };
  readonly canonicalizedBody: string;
}

/** Created is the outcome of a CreateEntry: a new entry, or the index of an equivalent one. */
export type Created =
  | { readonly entry: TransparencyLogEntry; readonly duplicate?: undefined }
  | { readonly duplicate: number; readonly message: string };

/** admitOptions fills in the admission defaults: rekor-tiles' algorithms, no DSSE (≥ v2.3.0). */
export function admitOptions(o: {
  readonly allowedKeyDetails?: readonly KeyDetails[];
  readonly acceptDsse?: boolean;
}): AdmitOptions {
  return {
    allowedKeyDetails: o.allowedKeyDetails ?? KEY_DETAILS,
    acceptDsse: o.acceptDsse ?? false,
  };
}

/** checkWritable refuses writes to a frozen log with rekor-tiles' message. */
export function checkWritable(log: Log): void {
  if (log.frozen) throw new LogError('frozen', FROZEN_MESSAGE);
}

/**
 * createEntry admits a CreateEntryRequest (in protojson form), waits until a checkpoint
 * containing it is committed and returns the entry with its inclusion proof. Refusals throw
 * LogError and append nothing; identical entries resolve to the index they already have.
 * Admission runs on pool when given (made with opts: the same verdicts, on another core).
 */
export async function createEntry(
  log: Log,
  request: unknown,
  opts: AdmitOptions,
  pool?: AdmissionPool,
): Promise<Created> {
  checkWritable(log);
  if (!pool) return logAdmitted(log, admitCreateEntry(request, opts));
  // The pool takes protojson bytes, so the decoded request goes back to JSON: a few µs here for
  // the hundreds of µs of verification that move to another core.
  const admitted = await pool.admit(utf8(JSON.stringify(request)));
  checkWritable(log);
  return logAdmitted(log, admitted);
}

/**
 * logAdmitted sequences an entry admission already accepted (createEntry's second half, for
 * callers that admit elsewhere, such as on the admission pool) and answers as createEntry does.
 */
export async function logAdmitted(log: Log, admitted: Admitted): Promise<Created> {
  if (admitted.body.length > MAX_ENTRY_SIZE) {
    throw new LogError(
      'too_large',
      `canonical entry of ${admitted.body.length} bytes is over ${MAX_ENTRY_SIZE}`,
    );
  }
  const r = await log.add(admitted.body);
  if (r.duplicate) {
    return {
      duplicate: r.index,
      message: `an equivalent entry already exists in the transparency log with index ${r.index}`,
    };
  }
  const hashes = await log.reader.proveInclusion(r.index, r.size);
  const index = String(r.index);
  const entry: TransparencyLogEntry = {
    logIndex: index,
    logId: { keyId: keyIdBase64(log.logKeyId) },
    kindVersion: { kind: admitted.kind, version: admitted.version },
    integratedTime: '0',
    inclusionPromise: null,
    inclusionProof: {
      logIndex: index,
      rootHash: peekCheckpoint(r.note).root,
      treeSize: String(r.size),
      hashes: hashesBase64(hashes),
      checkpoint: { envelope: r.note },
    },
    canonicalizedBody: toBase64(admitted.body),
  };
  return { entry };
}

// The log's key ID in base64, once per key rather than for every entry (~1 µs each).
const keyIds = new WeakMap<Uint8Array, string>();
function keyIdBase64(id: Uint8Array): string {
  let b = keyIds.get(id);
  if (b === undefined) keyIds.set(id, (b = toBase64(id)));
  return b;
}

/**
 * entryBytes is the UTF-8 of JSON.stringify(entry), written out directly: every value but the
 * checkpoint's envelope is base64, a decimal or an enum name, which JSON writes as it is, and the
 * keys are fixed; the envelope's JSON is encoded once per checkpoint. JSON.stringify of the ~2 KB
 * answer (two-byte, as the note's signature lines start with an em dash) cost ~10 µs more of the
 * main thread per Rekor write, and encoding it ~6 µs (test/api/create.test.ts checks the bytes).
 */
export function entryBytes(e: TransparencyLogEntry): Buffer<ArrayBuffer> {
  const p = e.inclusionProof;
  const envelope = noteJson(p.checkpoint.envelope);
  const hashes = p.hashes.length === 0 ? '' : `"${p.hashes.join('","')}"`;
  const head =
    `{"logIndex":"${e.logIndex}","logId":{"keyId":"${e.logId.keyId}"},"kindVersion":` +
    `{"kind":"${e.kindVersion.kind}","version":"${e.kindVersion.version}"},` +
    `"integratedTime":"${e.integratedTime}","inclusionPromise":null,"inclusionProof":` +
    `{"logIndex":"${p.logIndex}","rootHash":"${p.rootHash}","treeSize":"${p.treeSize}",` +
    `"hashes":[${hashes}],"checkpoint":{"envelope":`;
  const tail = `}},"canonicalizedBody":"${e.canonicalizedBody}"}`;
  // byteLength, not length: the other values are ASCII as the write path makes them, but a
  // wrong length here would be a malformed answer rather than an exception.
  const headSize = Buffer.byteLength(head);
  const size = headSize + envelope.length + Buffer.byteLength(tail);
  const out = Buffer.allocUnsafe(size);
  out.write(head, 0);
  envelope.copy(out, headSize);
  out.write(tail, headSize + envelope.length);
  return out;
}
