/**
 * The monitor: follows a tlog-tiles log (ours, or a Rekor v2 shard), verifies each new
 * checkpoint, proves it consistent with the last verified one, reads every new entry and checks
 * that the entries extend the verified tree to exactly the new root, parses Rekor entries
 * (hashedrekord 0.0.2, dsse 0.0.2) and reports those matching watch rules. Its position (the
 * checkpoint and the O(log n) right edge) is saved atomically after each step.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';

import { equal, fromBase64, toBase64 } from '../bytes.ts';
import type { TlogClient } from '../client/index.ts';
import { LogError } from '../errors.ts';
import { type Checkpoint, type NoteVerifier, openNote, parseCheckpoint } from '../note/index.ts';
import { type Edge, edgeRoot, EMPTY_EDGE } from '../tiles/index.ts';
import { type EntrySummary, type Need, summarize } from './facts.ts';
import { needsOf, type Rule } from './rules.ts';

/**
 * parseWatchRules parses the older watch file, one rule a line: `publicKey <b64 SPKI>`,
 * `subject <text>` (a substring of a certificate's subject), `san <text>`, `digest <b64|hex>`.
 */
export function parseWatchRules(text: string): Rule[] {
  const rules: Rule[] = [];
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
    const test: Rule['test'] =
      kind === 'digest'
        ? (s) => s.digest === value
        : kind === 'publicKey'
          ? (s) => s.publicKeys.includes(value)
          : kind === 'subject'
            ? (s) => s.subjects.some((x) => x.includes(value))
            : (s) => s.sans.includes(value);
    const needs: Need[] =
      kind === 'publicKey' ? ['publicKeys'] : kind === 'subject' ? ['subjects'] : [];
    rules.push({ name: `${kind} ${value}`, needs, test });
  });
  return rules;
}

/** matches returns the rules an entry matches. */
export function matches(s: EntrySummary, rules: readonly Rule[]): Rule[] {
  return rules.filter((r) => r.test(s));
}

/** MonitorState is the monitor's verified position. */
export interface MonitorState {
  readonly note: string;
  readonly edge: Edge;
}

/**
 * loadMonitorState reads a saved position (null when there is none), re-verifies its checkpoint
 * and checks that the saved edge is the edge of that checkpoint's tree (its size and root), so
 * that a damaged or mixed-up state file is refused rather than followed from a wrong tree.
 */
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
  const bad = (why: string) => new LogError('fatal', `monitor: saved position ${file}: ${why}`);
  let j: { note: string; size: number; levels: string[][] };
  try {
    j = JSON.parse(raw);
  } catch {
    throw bad('not JSON');
  }
  const cp = parseCheckpoint(openNote(j.note, verifiers).text);
  const levels = (Array.isArray(j.levels) ? j.levels : []).map((l) =>
    (Array.isArray(l) ? l : []).map((h) => fromBase64(String(h))),
  );
  if (levels.some((l) => l.length >= 256 || l.some((h) => h?.length !== 32)))
    throw bad('malformed edge hashes');
  // The edge holds size's base-256 digits of hashes, level by level (tlog-tiles partial tiles).
  if (levels.reduce((n, l, i) => n + l.length * 256 ** i, 0) !== j.size)
    throw bad(`the saved edge is not that of its checkpoint (size ${j.size})`);
  const edge: Edge = { size: j.size, levels: levels as Uint8Array[][], bundle: [] };
  let root: Uint8Array | null = null;
  try {
    root = edgeRoot(edge);
  } catch {
    // A malformed edge (wrong shape for its size) is refused below.
  }
  if (edge.size !== cp.size || !root || !equal(root, cp.root))
    throw bad(`the saved edge is not that of its checkpoint (size ${cp.size})`);
  return { note: j.note, edge };
}

/** saveMonitorState writes the position atomically (write then rename). */
export async function saveMonitorState(file: string, s: MonitorState): Promise<void> {
  const j = { note: s.note, size: s.edge.size, levels: s.edge.levels.map((l) => l.map(toBase64)) };
  await writeFile(file + '.tmp', JSON.stringify(j));
  await rename(file + '.tmp', file);
}

/** MonitorEvents receives what a step finds. */
export interface MonitorEvents {
  /** match is awaited before the step goes on, so that a full outbox slows the monitor down. */
  match(
    index: number,
    summary: EntrySummary,
    rules: Rule[],
    entry: Uint8Array,
  ): void | Promise<void>;
  /** checkpoint is told the log's verified current checkpoint before any entry is read. */
  checkpoint?(cp: Checkpoint): void;
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
  rules: readonly Rule[],
  events: MonitorEvents,
  from: 'now' | 'start' = 'now',
): Promise<MonitorState> {
  const current = await client.checkpoint();
  events.checkpoint?.(current.checkpoint);
  let edge: Edge;
  if (!state) {
    edge = from === 'now' ? await client.edgeAt(current.checkpoint) : EMPTY_EDGE;
  } else {
    const old = parseCheckpoint(state.note.slice(0, state.note.lastIndexOf('\n\n') + 1));
    await client.checkConsistent(old, current.checkpoint);
    edge = state.edge;
  }
  const total = current.checkpoint.size;
  const needs = needsOf(rules);
  const it = client.followBundles(edge, current.checkpoint);
  for (;;) {
    const n = await it.next();
    if (n.done) {
      edge = n.value;
      break;
    }
    const { index, entries } = n.value;
    for (let i = Math.ceil(index / 1024) * 1024; i < index + entries.length; i += 1024)
      events.progress?.(i, total);
    if (rules.length === 0) continue;
    for (let i = 0; i < entries.length; i++) {
      const hit = matches(summarize(entries[i]!, needs), rules);
      // A match reports the whole summary (matches are rare: reading it again costs little).
      if (hit.length > 0) await events.match(index + i, summarize(entries[i]!), hit, entries[i]!);
    }
  }
  events.progress?.(total, total);
  return { note: current.note, edge };
}
