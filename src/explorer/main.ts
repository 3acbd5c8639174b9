/**
 * The log explorer's entry point (bundled by esbuild into dist/explorer-web/explorer.js): finds
 * its settings, then routes the URL fragment to a page. Every page verifies what it shows with
 * the project's own pure code (client/, merkle/, tiles/, note/, verify/, vindex/'s lookup
 * verification); nothing from a log is rendered as HTML.
 */
import { checkpointView } from './checkpoint-view.ts';
import { el } from './dom.ts';
import { entriesView, entryView } from './entry-view.ts';
import { searchView } from './search-view.ts';
import { Session, timedFetch } from './session.ts';
import { type Loaded, loadSettings, settingsView } from './settings.ts';

function nav(): HTMLElement {
  const links: [string, string][] = [
    ['#/', 'Checkpoint'],
    ['#/entries', 'Entries'],
    ['#/search', 'Search'],
    ['#/settings', 'Settings'],
  ];
  return el('nav', {}, ...links.map(([href, text]) => el('a', { href }, text)));
}

async function route(loaded: Loaded, session: Session | null, view: HTMLElement): Promise<void> {
  const hash = location.hash.replace(/^#/, '') || '/';
  const qi = hash.indexOf('?');
  const path = qi < 0 ? hash : hash.slice(0, qi);
  const q = new URLSearchParams(qi < 0 ? '' : hash.slice(qi + 1));
  if (path === '/settings' || !session) {
    view.replaceChildren(settingsView(loaded));
    return;
  }
  view.replaceChildren(
    el('p', { class: 'muted', 'data-testid': 'loading' }, 'loading and checking …'),
  );
  const entry = /^\/entry\/(.*)$/.exec(path);
  if (path === '/') return checkpointView(session, view);
  if (path === '/entries') return entriesView(session, view, q);
  if (entry) return entryView(session, view, decodeURIComponent(entry[1]!));
  if (path === '/search') return searchView(session, view, q);
  view.replaceChildren(el('p', {}, 'There is no such page here.'));
}

async function main(): Promise<void> {
  const root = document.getElementById('app')!;
  const view = el('main', {});
  root.replaceChildren(el('header', {}, el('h1', {}, 'tilelog explorer'), nav()), view);
  const loaded = await loadSettings();
  let session: Session | null = null;
  let problem = loaded.problem;
  if (loaded.settings) {
    try {
      session = new Session(
        loaded.settings,
        localStorage,
        timedFetch(globalThis.fetch.bind(globalThis)),
      );
    } catch (err) {
      problem = (err as Error).message;
    }
  }
  const l = { ...loaded, problem };
  const go = () => void route(l, session, view);
  window.addEventListener('hashchange', go);
  go();
}

void main();
