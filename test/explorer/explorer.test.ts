// The explorer in a real browser (Debian's chromium through playwright-core) against a live
// `tilelog serve --index`: the checkpoint, an entry and searches by digest, identity and key show
// `verified`; a proxy that flips one byte of a hash tile or of a lookup proof makes them show
// `failed`; a checkpoint inconsistent with the one the browser saw raises the alarm; an
// unreachable log gets a message and a retry; entry text is never HTML. Screenshots of the views
// go to a temporary folder, or with TILELOG_UPDATE_SCREENSHOTS=1 to test/explorer/screenshots/
// (committed, referenced in the README), so that a test run leaves the tree as it was.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { toBase64 } from '../../src/bytes.ts';
import {
  ALG_MLDSA44,
  formatCheckpoint,
  generateCosignerSecret,
  parseSignerKey,
} from '../../src/note/index.ts';
import { signNote } from '../../src/note/note.ts';
import { type RunningLog, startServer } from '../../src/server.ts';
import { makeSigner, request } from '../helpers/signers.ts';
import { makeCert } from '../vindex/certs.ts';
import { buildExplorer, launch } from './browser.ts';
import { type Proxy, startProxy } from './proxy.ts';

const SHOTS = process.env.TILELOG_UPDATE_SCREENSHOTS
  ? join('test', 'explorer', 'screenshots')
  : mkdtempSync(join(tmpdir(), 'tilelog-shots-'));
const ISSUER = 'https://accounts.example.com';
const HOSTILE = '<img src=x onerror="window.pwned=1">@example.com';
const keySigner = makeSigner('PKIX_ECDSA_P256_SHA_256');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function certEntry(artifact: Uint8Array, email: string) {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cert = makeCert({ sans: [{ email }], issuer: ISSUER }, pair);
  return {
    hashedRekordRequestV002: {
      digest: createHash('sha256').update(artifact).digest('base64'),
      signature: {
        content: sign('sha256', artifact, pair.privateKey).toString('base64'),
        verifier: {
          x509Certificate: { rawBytes: toBase64(cert.der) },
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        },
      },
    },
  };
}

const art = (i: number) =>
  new TextEncoder().encode(`explorer artifact ${i % 6 === 5 ? 'shared' : i}`);

// The log: key entries (i % 3 == 0), alice's (1) and bob's (2) certificates, one hostile SAN.
async function populate(url: string, from: number, to: number, x: Expected): Promise<void> {
  for (let i = from; i < to; i++) {
    const email = i === 14 ? HOSTILE : i % 3 === 1 ? 'alice@example.com' : 'bob@example.com';
    const body = i % 3 === 0 ? request(keySigner, art(i)) : certEntry(art(i), email);
    const res = await fetch(`${url}/log/entries`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBe(201);
    const index = Number(((await res.json()) as { logIndex: string }).logIndex);
    expect(index).toBe(i);
    if (email === 'alice@example.com' && i % 3 !== 0) x.alice.push(index);
    if (i % 6 === 5) x.shared.push(index);
  }
}

interface Expected {
  alice: number[];
  shared: number[];
}

async function status(page: Page, testid: string): Promise<string> {
  const el = page.locator(`[data-testid=${testid}]`);
  await el.waitFor({ timeout: 30_000 });
  return (await el.textContent())!;
}

async function hits(page: Page): Promise<number[]> {
  const attrs = await page
    .locator('[data-testid=hit]')
    .evaluateAll((es) => es.map((e) => e.getAttribute('data-index')));
  return attrs.map(Number).sort((a, b) => a - b);
}

describe('the explorer in chromium against tilelog serve --index', () => {
  const data = mkdtempSync(join(tmpdir(), 'tilelog-explorer-'));
  let running: RunningLog;
  let origin: string;
  const expected: Expected = { alice: [], shared: [] };
  let browser: BrowserContext;
  let page: Page;
  let proxy: Proxy;

  beforeAll(async () => {
    buildExplorer();
    mkdirSync(SHOTS, { recursive: true });
    const mldsa = join(data, 'mldsa.key');
    writeFileSync(mldsa, generateCosignerSecret('127.0.0.1:0', ALG_MLDSA44) + '\n');
    running = await startServer({
      mldsaKey: mldsa,
      data,
      listen: '127.0.0.1:0',
      prefix: '/api/v2',
      index: true,
      maxAgeMs: 1,
      say: () => {},
    });
    origin = new URL(running.url).origin;
    browser = await launch();
    page = await browser.newPage();
    // The browser sees the log grow (0, 8, then 16 entries): its chart has three points.
    await page.goto(`${origin}/#/`);
    expect(await status(page, 'checkpoint-status')).toMatch(/^verified: checkpoint of size 0/);
    await populate(running.url, 0, 8, expected);
    await page.reload();
    expect(await status(page, 'checkpoint-status')).toMatch(/^verified: checkpoint of size 8/);
    await populate(running.url, 8, 16, expected);
    // Wait for the index to cover the whole log.
    const last = `sha256:${sha256(art(15))}`;
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${running.url}/index/lookup?digest=${last}`);
      if (r.ok && ((await r.json()) as { indices: number[] }).indices.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    proxy = await startProxy(origin);
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await running?.close();
  });

  it('verifies the checkpoint and remembers it', async () => {
    await page.goto(`${origin}/#/`);
    await page.reload();
    expect(await status(page, 'checkpoint-status')).toMatch(
      /^verified: checkpoint of size 16, .*consistent with the checkpoint of size 8 .*1 of 1 cosignatures checked/,
    );
    const sigs = page.locator('[data-testid=signature]');
    expect(await sigs.count()).toBe(2);
    expect(await sigs.nth(1).textContent()).toMatch(
      /ML-DSA-44 cosignature\d{4}-\d\d-\d\dT.*verified/,
    );
    expect(await page.locator('[data-testid=size-chart] polyline').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'checkpoint.png'), fullPage: true });
  });

  it('opens an entry: decoded, raw body, inclusion proof checked', async () => {
    await page.goto(`${origin}/#/entry/${expected.alice[0]}`);
    expect(await status(page, 'inclusion-status')).toMatch(/^verified: entry \d+ is included/);
    const text = (await page.locator('main').textContent())!;
    expect(text).toContain('alice@example.com');
    expect(text).toContain(ISSUER);
    expect(text).toContain('ECDSA P-256');
    expect(text).toContain('O=sigstore.dev');
    expect(await page.locator('[data-testid=checked] li').count()).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: join(SHOTS, 'entry.png'), fullPage: true });
  });

  it('finds entries by digest, identity with and without issuer, and key, and proves absence', async () => {
    await page.goto(`${origin}/#/search?digest=sha256:${sha256(art(5))}`);
    expect(await status(page, 'search-status')).toMatch(/^verified: 2 entries for digest/);
    expect(await hits(page)).toEqual(expected.shared);
    await page.goto(
      `${origin}/#/search?san=alice%40example.com&issuer=${encodeURIComponent(ISSUER)}`,
    );
    expect(await status(page, 'search-status')).toMatch(/^verified: 5 entries for identity/);
    expect(await hits(page)).toEqual(expected.alice);
    await page.screenshot({ path: join(SHOTS, 'search.png'), fullPage: true });
    await page.goto(`${origin}/#/search?san=alice%40example.com`);
    expect(await status(page, 'search-status')).toMatch(/^verified: 5 entries for identity/);
    expect(await hits(page)).toEqual(expected.alice);
    await page.goto(`${origin}/#/search?key=sha256:${sha256(keySigner.spki)}`);
    expect(await status(page, 'search-status')).toMatch(/^verified: 6 entries for public key/);
    expect(await hits(page)).toEqual([0, 3, 6, 9, 12, 15]);
    await page.goto(`${origin}/#/search?san=nobody%40example.com`);
    expect(await status(page, 'search-status')).toMatch(/^verified: no entries for identity/);
    expect(await hits(page)).toEqual([]);
  });

  it('hashes a dropped file in the browser and searches by its digest', async () => {
    await page.goto(`${origin}/#/search`);
    await page
      .locator('[data-testid=file]')
      .setInputFiles({ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from(art(3)) });
    expect(await status(page, 'search-status')).toMatch(/^verified: 1 entry for digest/);
    expect(await hits(page)).toEqual([3]);
  });

  it('shows text from an entry as text, never as HTML', async () => {
    await page.goto(`${origin}/#/entry/14`);
    expect(await status(page, 'inclusion-status')).toMatch(/^verified/);
    expect(await page.locator('main').textContent()).toContain(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
  });

  it('refuses bad input with a reason', async () => {
    await page.goto(`${origin}/#/search?digest=sha256:nothex`);
    expect(await status(page, 'search-status')).toMatch(/^failed: bad search: digest must be/);
    await page.goto(`${origin}/#/entry/1e3`);
    expect(await status(page, 'inclusion-status')).toMatch(/^failed: an entry index is a decimal/);
    await page.goto(`${origin}/#/entry/999`);
    expect(await status(page, 'inclusion-status')).toMatch(/^failed: there is no entry 999/);
  });

  it('shows failed when a proxy flips one byte of a hash tile, a lookup proof or the checkpoint', async () => {
    proxy.tamper = 'tile';
    await page.goto(`${proxy.url}/#/entry/3`);
    expect(await status(page, 'inclusion-status')).toMatch(
      /^failed: entry 3 is not in checkpoint 16/,
    );
    expect(await page.locator('[data-testid=alarm]').count()).toBe(1);
    proxy.tamper = 'lookup';
    await page.goto(`${proxy.url}/#/search?digest=sha256:${sha256(art(5))}`);
    expect(await status(page, 'search-status')).toMatch(/^failed: (lookup|map): /);
    expect(proxy.tampered).toBeGreaterThanOrEqual(2);
    proxy.tamper = 'checkpoint';
    await page.goto(`${proxy.url}/#/`);
    await page.reload();
    expect(await status(page, 'checkpoint-status')).toMatch(/^failed: note: invalid signature/);
    proxy.tamper = 'none';
    await page.goto(`${proxy.url}/#/search?digest=sha256:${sha256(art(5))}`);
    expect(await status(page, 'search-status')).toMatch(/^verified/);
  });

  it('raises the alarm for a checkpoint inconsistent with the one this browser saw', async () => {
    // A checkpoint the log key signed for a tree the log never had (a split view).
    const key = parseSignerKey(readFileSync(join(data, 'log.key'), 'utf8').trim());
    const forged = signNote(
      formatCheckpoint({
        origin: key.name,
        size: 7,
        root: new Uint8Array(32).fill(7),
        extensions: [],
      }),
      [key],
    );
    const fresh = await browser.newPage();
    await fresh.goto(`${origin}/#/settings`);
    await fresh.evaluate(
      ([k, note]) =>
        (
          globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }
        ).localStorage.setItem(k!, note!),
      [`tilelog-explorer/seen/${key.name}+${key.verifierKey.split('+')[1]}`, forged],
    );
    await fresh.goto(`${origin}/#/`);
    await fresh.reload();
    expect(await status(fresh, 'checkpoint-status')).toMatch(
      /^failed: client: checkpoint 16 is not consistent with 7/,
    );
    expect(await fresh.locator('[data-testid=alarm]').count()).toBe(1);
    // The evidence stays on the page: the checkpoint served now and the one seen before.
    expect(await fresh.locator('[data-testid=seen-note]').textContent()).toBe(forged);
    expect(await fresh.locator('[data-testid=note]').textContent()).toMatch(
      /^127\.0\.0\.1:0\n16\n/,
    );
    await fresh.screenshot({ path: join(SHOTS, 'checkpoint-alarm.png'), fullPage: true });
    await fresh.close();
  });

  it('says a log is unreachable and offers a retry', async () => {
    const q = new URLSearchParams({ log: 'http://127.0.0.1:9/api/v2', vkey: running.verifierKey });
    await page.goto(`${origin}/?${q}#/`);
    expect(await status(page, 'checkpoint-status')).toMatch(/^failed: could not reach the log/);
    expect(await page.locator('[data-testid=retry]').count()).toBe(1);
  });
});
