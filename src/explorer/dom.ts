/**
 * The explorer's only way to make DOM: elements with text content and attributes. Nothing from a
 * log, an entry or the URL is ever parsed as HTML (no innerHTML anywhere in the explorer), so a
 * hostile entry can at worst show odd text.
 */

/** Child is what el() accepts as content: text, an element, or nothing. */
export type Child = Node | string | number | null | undefined | false;

/** el makes an element with attributes (data-*, class, href …) and text or element children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, v);
  append(e, ...children);
  return e;
}

/** append adds children to parent, strings as text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** svg makes an SVG element (the chart) with attributes. */
export function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** status makes the element a test or script reads: its text starts with verified or failed. */
export function status(testid: string, ok: boolean, text: string): HTMLElement {
  return el(
    'p',
    { 'data-testid': testid, class: ok ? 'status ok' : 'status bad', role: 'status' },
    `${ok ? 'verified' : 'failed'}: ${text}`,
  );
}

/** dl makes a definition list of label/value rows, skipping rows without a value. */
export function dl(rows: [string, Child | Child[]][]): HTMLDListElement {
  const d = el('dl');
  for (const [k, v] of rows) {
    if (v === null || v === undefined || v === false) continue;
    append(d, el('dt', {}, k));
    const dd = el('dd');
    append(dd, ...(Array.isArray(v) ? v : [v]));
    append(d, dd);
  }
  return d;
}

/** mono wraps text as code, for hashes, keys and raw bodies. */
export function mono(text: string): HTMLElement {
  return el('code', {}, text);
}
