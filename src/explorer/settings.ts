/**
 * Where the explorer's settings come from, first found wins: the page's query string
 * (?log=URL&vkey=VKEY&index=URL&index-vkey=VKEY&witness=VKEY…), what the user saved in this
 * browser (the settings page), then config.json beside the page (written by `tilelog serve` and
 * `tilelog explorer --out`). URLs are resolved against the page and must be http(s).
 */
import { LogError } from '../errors.ts';
import { parseVerifierKey } from '../note/index.ts';
import { el } from './dom.ts';
import type { Settings } from './session.ts';

/** SAVED is the localStorage key of the settings a user saved. */
export const SAVED = 'tilelog-explorer/settings';

/** Loaded is the settings in force and where they came from. */
export interface Loaded {
  readonly settings: Settings | null;
  readonly source: 'query' | 'saved' | 'config.json' | 'none';
  readonly problem: string | null;
}

function url(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 2048)
    throw new LogError('bad_request', `${what} must be a URL`);
  let u: URL;
  try {
    u = new URL(v, location.href);
  } catch {
    throw new LogError('bad_request', `${what} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new LogError('bad_request', `${what} must be an http or https URL`);
  return u.href.replace(/\/+$/, '');
}

function vkey(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new LogError('bad_request', `${what} is missing`);
  parseVerifierKey(v.trim()); // throws a one-line reason
  return v.trim();
}

/** validate turns untrusted settings (query, storage, config.json) into Settings, or throws. */
export function validate(raw: unknown): Settings {
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const index =
    o.index === undefined || o.index === null || o.index === '' ? null : url(o.index, 'index URL');
  const witnesses = Array.isArray(o.witnesses) ? o.witnesses : [];
  for (const w of witnesses)
    if (typeof w !== 'string' || w.length > 4096)
      throw new LogError('bad_request', 'bad witness key');
  return {
    log: url(o.log, 'log URL'),
    vkey: vkey(o.vkey, 'log verifier key'),
    index,
    indexVkey: index ? vkey(o.indexVkey, 'index verifier key') : null,
    witnesses: (witnesses as string[]).map((w) => w.trim()).filter((w) => w !== ''),
  };
}

function fromQuery(): unknown | null {
  const q = new URLSearchParams(location.search);
  if (!q.has('log')) return null;
  return {
    log: q.get('log'),
    vkey: q.get('vkey'),
    index: q.get('index'),
    indexVkey: q.get('index-vkey'),
    witnesses: q.getAll('witness'),
  };
}

async function fromConfig(): Promise<unknown | null> {
  try {
    const res = await fetch(new URL('config.json', location.href), { cache: 'no-cache' });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

/** loadSettings finds the settings in force. */
export async function loadSettings(): Promise<Loaded> {
  const saved = localStorage.getItem(SAVED);
  const tries: [Loaded['source'], () => unknown | Promise<unknown>][] = [
    ['query', fromQuery],
    ['saved', () => (saved ? JSON.parse(saved) : null)],
    ['config.json', fromConfig],
  ];
  for (const [source, get] of tries) {
    let raw: unknown;
    try {
      raw = await get();
    } catch {
      raw = null;
    }
    if (raw === null) continue;
    try {
      return { settings: validate(raw), source, problem: null };
    } catch (err) {
      return { settings: null, source, problem: (err as Error).message };
    }
  }
  return { settings: null, source: 'none', problem: null };
}

function field(label: string, name: string, v: string, big = false): HTMLElement {
  const input = big
    ? el('textarea', { name, rows: '3', spellcheck: 'false' })
    : el('input', { name, value: v, spellcheck: 'false', autocomplete: 'off' });
  if (big) input.textContent = v;
  return el('label', {}, label, input);
}

/** settingsView is the form that points the explorer at a log and its index. */
export function settingsView(loaded: Loaded): HTMLElement {
  const s = loaded.settings;
  const msg = el('p', { 'data-testid': 'settings-message' });
  const form = el(
    'form',
    { class: 'settings' },
    field('Log URL (tlog-tiles prefix)', 'log', s?.log ?? ''),
    field('Log verifier key', 'vkey', s?.vkey ?? ''),
    field('Index URL (optional)', 'index', s?.index ?? ''),
    field('Index verifier key', 'indexVkey', s?.indexVkey ?? ''),
    field('Witness keys (one a line)', 'witnesses', (s?.witnesses ?? []).join('\n'), true),
    el('button', { type: 'submit' }, 'Save in this browser'),
    el('button', { type: 'button', 'data-action': 'reset' }, "Use the server's settings"),
    msg,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    const get = (k: string) => String(d.get(k) ?? '').trim();
    try {
      const v = validate({
        log: get('log'),
        vkey: get('vkey'),
        index: get('index') || null,
        indexVkey: get('indexVkey'),
        witnesses: get('witnesses').split('\n'),
      });
      localStorage.setItem(SAVED, JSON.stringify(v));
      location.hash = '#/';
      location.reload();
    } catch (err) {
      msg.textContent = `not saved: ${(err as Error).message}`;
    }
  });
  form.querySelector('[data-action=reset]')!.addEventListener('click', () => {
    localStorage.removeItem(SAVED);
    location.reload();
  });
  const where = `Settings in force: ${loaded.source}${loaded.problem ? ` (${loaded.problem})` : ''}.`;
  return el('section', {}, el('h2', {}, 'Settings'), el('p', {}, where), form);
}
