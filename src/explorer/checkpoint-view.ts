/**
 * The checkpoint view (#/): origin, size, root, every signature line (the log's and each
 * cosignature: name, key type, time, verified or not), the tree size over time as this browser
 * saw it, and consistency with the last checkpoint it saw. A failed check is an alarm.
 */
import { toBase64 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { append, dl, el, mono, status, svg } from './dom.ts';
import { type CheckpointReport, type Session, type SigLine, SplitView } from './session.ts';

/** failure shows a failed check (an alarm) or an unreachable log (with a retry button). */
export function failure(testid: string, err: unknown, retry: () => void): HTMLElement {
  const unreachable = err instanceof LogError && err.code === 'unavailable';
  const msg = err instanceof Error ? err.message : String(err);
  const box = el(
    'div',
    {
      class: unreachable ? 'unreachable' : 'alarm',
      'data-testid': unreachable ? 'unreachable' : 'alarm',
    },
    status(testid, false, unreachable ? `could not reach the log or index: ${msg}` : msg),
  );
  if (!unreachable)
    append(box, el('p', {}, 'ALARM: what the log served did not verify. It is shown, not hidden.'));
  const button = el('button', { type: 'button', 'data-testid': 'retry' }, 'Retry');
  button.addEventListener('click', retry);
  append(box, button);
  return box;
}

function sigRow(s: SigLine): HTMLElement {
  const time = s.time === null ? '' : new Date(s.time * 1000).toISOString();
  const state = s.verified ? 'verified' : 'not checked (no key configured for it)';
  return el(
    'tr',
    { 'data-testid': 'signature', 'data-verified': String(s.verified) },
    el('td', {}, s.role === 'log' ? 'log' : s.role === 'witness' ? 'witness' : 'other'),
    el('td', {}, s.name),
    el('td', {}, mono(s.keyHash)),
    el('td', {}, s.keyType),
    el('td', {}, time),
    el('td', { class: s.verified ? 'ok' : 'muted' }, state),
  );
}

/** chart draws the tree size over time as a small SVG line. */
export function chart(points: readonly [number, number][]): HTMLElement {
  if (points.length < 2)
    return el('p', { class: 'muted' }, 'The chart grows as this browser sees new checkpoints.');
  const [w, h, pad] = [360, 90, 4];
  const t0 = points[0]![0];
  const t1 = Math.max(points.at(-1)![0], t0 + 1);
  const s0 = points[0]![1];
  const s1 = Math.max(points.at(-1)![1], s0 + 1);
  const xy = points.map(([t, s]) => [
    pad + ((t - t0) / (t1 - t0)) * (w - 2 * pad),
    h - pad - ((s - s0) / (s1 - s0)) * (h - 2 * pad),
  ]);
  const box = svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img' });
  box.appendChild(svg('rect', { x: 0, y: 0, width: w, height: h, class: 'chart-bg' }));
  const d = xy.map(([x, y]) => `${x!.toFixed(1)},${y!.toFixed(1)}`).join(' ');
  box.appendChild(svg('polyline', { points: d, class: 'chart-line' }));
  const from = new Date(t0).toISOString().replace('T', ' ').slice(0, 19);
  const to = new Date(t1).toISOString().replace('T', ' ').slice(0, 19);
  return el(
    'figure',
    { 'data-testid': 'size-chart' },
    box,
    el('figcaption', {}, `${s0} → ${points.at(-1)![1]} entries, ${from} to ${to} UTC`),
  );
}

function consistencyText(r: CheckpointReport): string {
  const c = r.consistency;
  if (c.kind === 'first') return 'first checkpoint this browser saw of this log (remembered)';
  if (c.kind === 'same')
    return `same tree as the checkpoint this browser saw before (size ${c.size})`;
  if (c.kind === 'older')
    return `older than the checkpoint of size ${c.size} seen before, and consistent with it (proved)`;
  return `consistent with the checkpoint of size ${c.size} this browser saw before (proved from tiles)`;
}

function report(s: Session, r: CheckpointReport): HTMLElement {
  const cp = r.checkpoint;
  const cosigs = r.sigs.filter((x) => x.role !== 'log');
  const checked = cosigs.filter((x) => x.verified).length;
  const text = `checkpoint of size ${cp.size}, signed by ${s.logVerifier.name}; ${consistencyText(r)}; ${checked} of ${cosigs.length} cosignatures checked`;
  return el(
    'section',
    {},
    el('h2', {}, 'Checkpoint'),
    status('checkpoint-status', true, text),
    dl([
      ['Origin', r.checkpoint.origin],
      ['Tree size', String(cp.size)],
      ['Root hash', mono(toBase64(cp.root))],
      ['Log URL', mono(s.settings.log)],
      ['Consistency', consistencyText(r)],
    ]),
    el('h3', {}, 'Signatures'),
    el(
      'table',
      {},
      el(
        'tr',
        {},
        ...['role', 'name', 'key hash', 'key type', 'time', 'signature'].map((x) =>
          el('th', {}, x),
        ),
      ),
      ...r.sigs.map(sigRow),
    ),
    el('h3', {}, 'Tree size over time'),
    chart(r.history),
    el('h3', {}, 'Signed note'),
    el('pre', { 'data-testid': 'note' }, r.note),
    el('p', {}, el('a', { href: '#/entries' }, 'Latest entries →')),
  );
}

/** checkpointView renders #/ into view. */
export async function checkpointView(s: Session, view: HTMLElement): Promise<void> {
  const again = () => void checkpointView(s, view);
  try {
    const r = await s.checkpoint();
    view.replaceChildren(report(s, r));
  } catch (err) {
    const forget = el('button', { type: 'button' }, 'Forget the checkpoint this browser saw');
    forget.addEventListener('click', () => {
      s.forget();
      again();
    });
    const evidence =
      err instanceof SplitView
        ? [
            el('h3', {}, 'The checkpoint the log serves now (its signature verifies)'),
            el('pre', { 'data-testid': 'note' }, err.note),
            el('h3', {}, 'The checkpoint this browser saw before'),
            el('pre', { 'data-testid': 'seen-note' }, err.seen),
          ]
        : [];
    view.replaceChildren(
      el('h2', {}, 'Checkpoint'),
      failure('checkpoint-status', err, again),
      forget,
      ...evidence,
    );
  }
}
