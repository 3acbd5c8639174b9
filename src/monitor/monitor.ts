/**
 * The monitor: follows a tlog-tiles log (ours, or a Rekor v2 shard), verifies each new
 * checkpoint, proves it consistent with the last verified one, reads every new entry and checks
 * that the entries extend the verified tree to exactly the new root, parses Rekor entries
 * (hashedrekord 0.0.2, dsse 0.0.2) and reports those matching watch rules. Its position (the
 * checkpoint and the O(log n) right edge) is saved atomically after each step.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';

import { fromBase64, toBase64 } from '../bytes.ts';
import type { TlogClient } from '../client/index.ts';
import { LogError } from '../errors.ts';
import { type NoteVerifier, openNote, parseCheckpoint } from '../note/index.ts';
import { type Edge, EMPTY_EDGE } from '../tiles/index.ts';

/** WatchRule matches entries by key, certificate subject or SAN, or digest. */
export interface WatchRule {
  readonly kind: 'publicKey' | 'subject' | 'san' | 'digest';
  readonly value: string;
}

/** parseWatchRules parses lines `publicKey <b64 SPKI>`, `subject <text>`, `san <text>`, `digest <b64|hex>`. */
export function parseWatchRules(text: string): WatchRule[] {
  const rules: WatchRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const sp = line.indexOf(' ');
    const kind = line.slice(0, sp);
    let value = line.slice(sp + 1).trim();
    if (sp < 0 || !['publicKey', 'subject', 'san', 'digest'].includes(kind) || value === '') {
      throw new LogError(
        'bad_request',
        `watch file line ${i + 1}: want "publicKey|subject|san|digest <value>"`,
      );
    }
    if (kind === 'digest' && /^[0-9a-f]{64,128}$/i.test(value))
      value = toBase64(Uint8Array.from(value.match(/../g)!.map((h) => parseInt(h, 16))));
    rules.push({ kind: kind as WatchRule['kind'], value });
  });
  return rules;
}

/** EntrySummary is what the monitor knows of a Rekor entry. */
export interface EntrySummary {
  readonly kind: string;
  readonly digest?: string;
  readonly publicKeys: string[];
  readonly subjects: string[];
  readonly sans: string[];
}

/** summarize parses a Rekor v2 entry body; other bodies yield kind "unknown". */
export function summarize(entry: Uint8Array): EntrySummary {
  const out: EntrySummary = { kind: 'unknown', publicKeys: [], subjects: [], sans: [] };
  // Untrusted JSON, walked with optional chaining and checked field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let body: any;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(entry));
  } catch {
    return out;
  }
  const kind = `${body?.kind} ${body?.apiVersion}`;
  let digest: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let verifiers: any[];
  if (kind === 'hashedrekord 0.0.2') {
    digest = body.spec?.hashedRekordV002?.data?.digest;
    verifiers = [body.spec?.hashedRekordV002?.signature?.verifier];
  } else if (kind === 'dsse 0.0.2') {
    digest = body.spec?.dsseV002?.payloadHash?.digest;
    verifiers = (body.spec?.dsseV002?.signatures ?? []).map(
      (s: { verifier?: unknown } | null) => s?.verifier,
    );
  } else
    return {
      ...out,
      kind: typeof body?.kind === 'string' ? `${body.kind} ${body.apiVersion}` : 'unknown',
    };
  const s: EntrySummary = { kind, digest, publicKeys: [], subjects: [], sans: [] };
  for (const v of verifiers) {
    if (typeof v?.publicKey?.rawBytes === 'string') s.publicKeys.push(v.publicKey.rawBytes);
    const der =
      typeof v?.x509Certificate?.rawBytes === 'string'
        ? fromBase64(v.x509Certificate.rawBytes)
        : null;
    if (!der) continue;
    try {
      const cert = new X509Certificate(Buffer.from(der));
      s.publicKeys.push(cert.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'));
      s.subjects.push(cert.subject);
      for (const part of (cert.subjectAltName ?? '').split(', '))
        if (part) s.sans.push(part.replace(/^[A-Za-z ]+:/, ''));
    } catch {
      // Not a certificate we can read: the entry is still reported by its other fields.
    }
  }
  return s;
}

/** matches returns the rules an entry matches. */
export function matches(s: EntrySummary, rules: readonly WatchRule[]): WatchRule[] {
  return rules.filter((r) =>
    r.kind === 'digest'
      ? s.digest === r.value
      : r.kind === 'publicKey'
        ? s.publicKeys.includes(r.value)
        : r.kind === 'subject'
          ? s.subjects.some((x) => x.includes(r.value))
          : s.sans.includes(r.value),
  );
}

/** MonitorState is the monitor's verified position. */
export interface MonitorState {
  readonly note: string;
  readonly edge: Edge;
}

/** loadState reads a saved position (null when there is none) and re-verifies its checkpoint. */
export async function loadMonitorState(
  file: string,
  verifiers: readonly NoteVerifier[],
): Promise<MonitorState | null> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  const j = JSON.parse(raw) as { note: string; size: number; levels: string[][] };
  parseCheckpoint(openNote(j.note, verifiers).text);
  return {
    note: j.note,
    edge: { size: j.size, levels: j.levels.map((l) => l.map((h) => fromBase64(h)!)), bundle: [] },
  };
}

/** saveMonitorState writes the position atomically (write then rename). */
export async function saveMonitorState(file: string, s: MonitorState): Promise<void> {
  const j = { note: s.note, size: s.edge.size, levels: s.edge.levels.map((l) => l.map(toBase64)) };
  await writeFile(file + '.tmp', JSON.stringify(j));
  await rename(file + '.tmp', file);
}

/** MonitorEvents receives what a step finds. */
export interface MonitorEvents {
  match(index: number, summary: EntrySummary, rules: WatchRule[]): void;
  progress?(done: number, total: number): void;
}

/**
 * monitorStep moves the position to the log's current checkpoint, or throws 'corrupt' on a
 * split view (a smaller or inconsistent checkpoint, or entries that do not hash to the root).
 * With no position, it starts at the current checkpoint (from: 'now') or at the empty tree.
 */
export async function monitorStep(
  client: TlogClient,
  state: MonitorState | null,
  rules: readonly WatchRule[],
  events: MonitorEvents,
  from: 'now' | 'start' = 'now',
): Promise<MonitorState> {
  const current = await client.checkpoint();
  let edge: Edge;
  if (!state) {
    edge = from === 'now' ? await client.edgeAt(current.checkpoint) : EMPTY_EDGE;
  } else {
    const old = parseCheckpoint(state.note.slice(0, state.note.lastIndexOf('\n\n') + 1));
    await client.checkConsistent(old, current.checkpoint);
    edge = state.edge;
  }
  const total = current.checkpoint.size;
  const it = client.follow(edge, current.checkpoint);
  for (;;) {
    const n = await it.next();
    if (n.done) {
      edge = n.value;
      break;
    }
    const summary = summarize(n.value.entry);
    const hit = matches(summary, rules);
    if (hit.length > 0) events.match(n.value.index, summary, hit);
    if (n.value.index % 1024 === 0) events.progress?.(n.value.index, total);
  }
  events.progress?.(total, total);
  return { note: current.note, edge };
}
