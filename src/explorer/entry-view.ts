/**
 * The entries pages: the latest entries, newest first, a page at a time (#/entries?start=N), and
 * one entry (#/entry/N) decoded, with its raw canonical body and its inclusion proof checked
 * against the verified checkpoint, and a list of what was checked (and what was not).
 */
import { toBase64, toHex } from '../bytes.ts';
import { type Checkpoint } from '../note/index.ts';
import { failure } from './checkpoint-view.ts';
import { type DecodedEntry, type DecodedVerifier, decodeEntry, summary } from './decode.ts';
import { append, type Child, dl, el, mono, status } from './dom.ts';
import { parseIndex } from './search.ts';
import type { Included, Session } from './session.ts';

/** ENTRIES_PAGE is how many entries one page of the list shows. */
export const ENTRIES_PAGE = 20;

function searchLink(param: string, v: string, text = v): HTMLElement {
  const q = new URLSearchParams({ [param]: v });
  return el('a', { href: `#/search?${q}` }, text);
}

function verifierRows(v: DecodedVerifier, n: number): [string, Child | Child[]][] {
  const c = v.certificate;
  const p = n > 0 ? `Signature ${n + 1}: ` : '';
  return [
    [`${p}Key details`, v.keyDetails],
    [`${p}Key type`, v.keyType],
    [`${p}Public key SHA-256`, v.spkiSha256 && searchLink('key', `sha256:${v.spkiSha256}`)],
    [`${p}Certificate subject`, c?.subject],
    [
      `${p}SANs`,
      c && (c.sans.length ? c.sans.flatMap((s) => [searchLink('san', s), ' ']) : '(none)'),
    ],
    [`${p}OIDC issuer`, c && (c.oidcIssuer ?? '(none)')],
    [`${p}Certificate issuer`, c?.issuerName],
    [`${p}Valid`, c && `${c.notBefore} to ${c.notAfter}`],
    [`${p}Serial`, c && mono(c.serial)],
    [`${p}Problem`, v.problem],
  ];
}

function decodedView(d: DecodedEntry): HTMLElement {
  return dl([
    ['Kind', `${d.kind} ${d.apiVersion}`],
    ['Digest', d.digest && searchLink('digest', `${d.digest.algorithm}:${d.digest.hex}`)],
    ...d.signatures.flatMap(verifierRows),
    ['Problems', d.problems.length ? d.problems.join('; ') : null],
  ]);
}

function checkedList(s: Session, cp: Checkpoint, inc: Included): HTMLElement {
  return el(
    'ol',
    { 'data-testid': 'checked' },
    el(
      'li',
      {},
      `The checkpoint (size ${cp.size}) carries a valid Ed25519 signature by ${s.logVerifier.name}, the configured log key.`,
    ),
    el(
      'li',
      {},
      'It is consistent with the last checkpoint this browser saw of this log (see the checkpoint page).',
    ),
    el(
      'li',
      {},
      `The entry's bytes were read from ${inc.bundlePath}; their RFC 6962 leaf hash SHA-256(0x00 ‖ entry) is ${toHex(inc.leaf)}.`,
    ),
    el(
      'li',
      {},
      `The inclusion proof (${inc.proof.length} hashes, computed here from the log's tiles) leads from that leaf at index ${inc.index} to the checkpoint's root ${toBase64(cp.root)}.`,
    ),
    el(
      'li',
      { class: 'muted' },
      "Not checked here: the signature over the artifact (the artifact is not at hand) and the certificate's chain to a Fulcio root.",
    ),
  );
}

function entryReport(s: Session, cp: Checkpoint, inc: Included): HTMLElement {
  const d = decodeEntry(inc.entry);
  const i = inc.index;
  return el(
    'section',
    {},
    el('h2', {}, `Entry ${i}`),
    status(
      'inclusion-status',
      true,
      `entry ${i} is included in the log's checkpoint of size ${cp.size}`,
    ),
    el('h3', {}, 'What was checked'),
    checkedList(s, cp, inc),
    el('h3', {}, 'Decoded'),
    decodedView(d),
    el('h3', {}, 'Raw canonical body'),
    el('pre', { 'data-testid': 'raw-body' }, d.text ?? `(not UTF-8) ${toBase64(inc.entry)}`),
    el('h3', {}, 'Inclusion proof'),
    el(
      'ol',
      { start: '0', class: 'hashes' },
      ...inc.proof.map((h) => el('li', {}, mono(toBase64(h)))),
    ),
    el(
      'p',
      {},
      i > 0 ? el('a', { href: `#/entry/${i - 1}` }, `← entry ${i - 1}`) : null,
      ' ',
      i + 1 < cp.size ? el('a', { href: `#/entry/${i + 1}` }, `entry ${i + 1} →`) : null,
    ),
  );
}

/** entryView renders #/entry/<index>. */
export async function entryView(s: Session, view: HTMLElement, raw: string): Promise<void> {
  const again = () => void entryView(s, view, raw);
  const title = el('h2', {}, `Entry ${raw.slice(0, 20)}`);
  // A bad index from the URL is the user's mistake, not the log's: a reason, no alarm.
  const refuse = (why: string) =>
    view.replaceChildren(title, status('inclusion-status', false, why));
  let index: number;
  try {
    index = parseIndex(raw);
  } catch (err) {
    return refuse((err as Error).message);
  }
  try {
    const cp = (await s.checkpoint()).checkpoint;
    if (index >= cp.size) return refuse(`there is no entry ${index}: the log has ${cp.size}`);
    view.replaceChildren(entryReport(s, cp, await s.included(index, cp)));
  } catch (err) {
    view.replaceChildren(title, failure('inclusion-status', err, again));
  }
}

/** hitRow is one entry in a list: index, what, who, and whether its inclusion was checked. */
export function hitRow(inc: Included, testid: string): HTMLElement {
  const { what, who } = summary(decodeEntry(inc.entry));
  return el(
    'tr',
    { 'data-testid': testid, 'data-index': String(inc.index) },
    el('td', {}, el('a', { href: `#/entry/${inc.index}` }, String(inc.index))),
    el('td', {}, what),
    el('td', {}, who),
    el('td', { class: 'ok' }, 'included ✓'),
  );
}

/** entriesView renders #/entries?start=N: the entries from N (default: the newest) down. */
export async function entriesView(
  s: Session,
  view: HTMLElement,
  q: URLSearchParams,
): Promise<void> {
  const again = () => void entriesView(s, view, q);
  try {
    const cp = (await s.checkpoint()).checkpoint;
    const start = q.has('start') ? Math.min(parseIndex(q.get('start')!), cp.size - 1) : cp.size - 1;
    const rows: HTMLElement[] = [];
    for (let i = start; i >= 0 && i > start - ENTRIES_PAGE; i--)
      rows.push(hitRow(await s.included(i, cp), 'entry-row'));
    const nav = el('p', {});
    if (start + 1 < cp.size)
      append(
        nav,
        el(
          'a',
          { href: `#/entries?start=${Math.min(cp.size - 1, start + ENTRIES_PAGE)}` },
          '← newer',
        ),
        ' ',
      );
    if (start - ENTRIES_PAGE >= 0)
      append(nav, el('a', { href: `#/entries?start=${start - ENTRIES_PAGE}` }, 'older →'));
    const text = `${rows.length} entries, each proved included in the checkpoint of size ${cp.size}`;
    view.replaceChildren(
      el('h2', {}, 'Latest entries'),
      status('entries-status', true, cp.size === 0 ? 'the log is empty' : text),
      el(
        'table',
        {},
        el('tr', {}, ...['index', 'entry', 'signer', 'inclusion'].map((x) => el('th', {}, x))),
        ...rows,
      ),
      nav,
    );
  } catch (err) {
    view.replaceChildren(el('h2', {}, 'Latest entries'), failure('entries-status', err, again));
  }
}
