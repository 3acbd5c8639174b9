/**
 * The search page (#/search?digest=…, ?san=…[&issuer=…], ?key=…): a form, a file drop zone that
 * hashes the file here (it is never uploaded), and the verified answer: every hit proved, and the
 * proof that there are no other hits (the key's list size and root in the signed map, or the
 * proof that the key is absent).
 */
import { toBase64, toHex } from '../bytes.ts';
import { sha256 } from '../crypto.ts';
import { LogError } from '../errors.ts';
import { failure } from './checkpoint-view.ts';
import { append, el, status } from './dom.ts';
import { hitRow } from './entry-view.ts';
import { PAGE, parseQuery, search, type SearchReport } from './search.ts';
import type { Session } from './session.ts';

function input(name: string, placeholder: string, value: string | null): HTMLInputElement {
  return el('input', {
    name,
    placeholder,
    value: value ?? '',
    spellcheck: 'false',
    autocomplete: 'off',
  });
}

// go navigates to a search; the URL fragment is the state, so searches can be linked.
function go(params: Record<string, string>): void {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v.trim() !== ''));
  location.hash = `#/search?${q}`;
}

function forms(q: URLSearchParams): HTMLElement {
  const digest = input('digest', 'sha256:<64 hex digits>', q.get('digest'));
  const san = input('san', 'email or URI identity', q.get('san'));
  const issuer = input('issuer', 'OIDC issuer URL (optional)', q.get('issuer'));
  const key = input('key', 'sha256:<hex of the public key (DER SPKI)>', q.get('key'));
  const form = (fields: HTMLInputElement[], label: string) => {
    const f = el('form', { class: 'search' }, ...fields, el('button', { type: 'submit' }, label));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      go(Object.fromEntries(fields.map((x) => [x.name, x.value.trim()])));
    });
    return f;
  };
  const drop = el(
    'div',
    { class: 'drop', 'data-testid': 'drop', tabindex: '0' },
    'Drop a file here (it is hashed in this browser, never uploaded), or ',
  );
  const file = el('input', { type: 'file', 'data-testid': 'file' });
  append(drop, file);
  const hash = async (f: File | undefined) => {
    if (!f) return;
    drop.textContent = `hashing ${f.name} …`;
    const d = sha256(new Uint8Array(await f.arrayBuffer()));
    go({ digest: `sha256:${toHex(d)}` });
  };
  file.addEventListener('change', () => void hash(file.files?.[0]));
  drop.addEventListener('dragover', (ev) => ev.preventDefault());
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    void hash(ev.dataTransfer?.files[0]);
  });
  return el(
    'div',
    {},
    el('h3', {}, 'By artifact digest'),
    form([digest], 'Search'),
    drop,
    el('h3', {}, 'By identity'),
    form([san, issuer], 'Search'),
    el('h3', {}, 'By public key'),
    form([key], 'Search'),
  );
}

function answer(r: SearchReport): HTMLElement {
  const l = r.lookup;
  const n = l.list.size;
  const absent = n === 0;
  const seen =
    r.outputSeen === null
      ? 'first index checkpoint this browser saw'
      : `consistent with the index checkpoint of size ${r.outputSeen} seen before`;
  const text = absent
    ? `no entries for ${r.query.label}: the index proves the key is absent from its map (revision ${l.revisionIndex}, covering ${l.input.checkpoint.size} entries)`
    : `${n} ${n === 1 ? 'entry' : 'entries'} for ${r.query.label}, each proved included; the index's map commits to exactly ${n}, so there are no others (revision ${l.revisionIndex}, covering ${l.input.checkpoint.size} entries)`;
  const more = l.start + l.indices.length < n;
  const next = new URLSearchParams(location.hash.slice(location.hash.indexOf('?') + 1));
  next.set('start', String(l.start + PAGE));
  return el(
    'section',
    {},
    status('search-status', true, text),
    el(
      'ol',
      { 'data-testid': 'search-checked' },
      el(
        'li',
        {},
        `The index checkpoint (size ${l.output.checkpoint.size}) is signed by the index key; ${seen}.`,
      ),
      el(
        'li',
        {},
        `Revision ${l.revisionIndex} is included in it; its map root is ${toBase64(l.mapRoot)} and it covers the log's checkpoint of size ${l.input.checkpoint.size}, signed by the log key and consistent with the log as this browser saw it.`,
      ),
      el(
        'li',
        {},
        absent
          ? 'The trie proof shows that no leaf for this key exists under that root (non-inclusion).'
          : `The trie proof leads from the key's list (${n} indices, root ${toBase64(l.list.listRoot)}) to that root, and the page proof puts indices ${l.start} to ${l.start + l.indices.length - 1} in the list.`,
      ),
      absent
        ? null
        : el(
            'li',
            {},
            'Every hit below was read from the log, proved included in that checkpoint, and carries the key.',
          ),
    ),
    absent ? null : el('table', {}, ...r.hits.map((h) => hitRow(h, 'hit'))),
    more ? el('p', {}, el('a', { href: `#/search?${next}` }, `next ${PAGE} →`)) : null,
  );
}

/** searchView renders #/search?…. */
export async function searchView(s: Session, view: HTMLElement, q: URLSearchParams): Promise<void> {
  const again = () => void searchView(s, view, q);
  const result = el('div', {});
  view.replaceChildren(el('h2', {}, 'Search'), forms(q), result);
  if ([...q.keys()].length === 0) return;
  result.replaceChildren(el('p', { class: 'muted' }, 'searching and checking …'));
  let query;
  try {
    query = parseQuery(q);
  } catch (err) {
    result.replaceChildren(status('search-status', false, `bad search: ${(err as Error).message}`));
    return;
  }
  try {
    await s.checkpoint();
    result.replaceChildren(answer(await search(s, localStorage, query)));
  } catch (err) {
    const bad = err instanceof LogError && err.code === 'bad_request' && !s.settings.index;
    result.replaceChildren(
      bad
        ? status('search-status', false, (err as Error).message)
        : failure('search-status', err, again),
    );
  }
}
