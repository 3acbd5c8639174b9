import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { fromBase64, utf8 } from '../../src/bytes.ts';
import { TlogClient } from '../../src/client/index.ts';
import { type EntrySummary, summarize } from '../../src/monitor/facts.ts';
import { parseWatchRules } from '../../src/monitor/index.ts';
import { loadMonitorState, monitorStep, saveMonitorState } from '../../src/monitor/monitor.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../src/note/index.ts';
import { Log, migrate } from '../../src/sequencer/index.ts';
import { HttpStore } from '../../src/storage/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { makeSigner, request } from '../helpers/signers.ts';

const ORIGIN = 'log.example.test/monitor';
const signer = parseSignerKey(generateSignerKey(ORIGIN));
const verifiers = [parseVerifierKey(signer.verifierKey)];

async function served() {
  const log = await Log.open(new MemoryStore(), {
    origin: ORIGIN,
    signer,
    maxAgeMs: 1,
    maxBatch: 2048,
  });
  const app = createApp(log);
  const client = (tamper?: (path: string, body: Uint8Array) => Uint8Array) =>
    new TlogClient({
      url: 'http://log.test/api/v2',
      verifiers,
      fetch: (async (input: string) => {
        const res = await app.request(input);
        if (!tamper || res.status !== 200) return res;
        return new Response(
          tamper(
            new URL(input).pathname,
            new Uint8Array(await res.arrayBuffer()),
          ) as Uint8Array<ArrayBuffer>,
          { status: 200 },
        );
      }) as typeof fetch,
    });
  return { log, app, client };
}

function collector() {
  const found: { index: number; summary: EntrySummary }[] = [];
  return {
    found,
    events: {
      match: (index: number, summary: EntrySummary) => {
        found.push({ index, summary });
      },
    },
  };
}

describe('monitor', () => {
  it('follows a log, reports watched entries once, and keeps its position across restarts', async () => {
    const { log, app, client } = await served();
    const watched = makeSigner('PKIX_ECDSA_P256_SHA_256');
    const other = makeSigner('PKIX_ECDSA_P256_SHA_256');
    const post = (s: typeof watched, i: number) =>
      app.request('/api/v2/log/entries', {
        method: 'POST',
        body: JSON.stringify(request(s, utf8(`artifact ${i}`))),
      });
    for (let i = 0; i < 5; i++) await post(i % 2 ? watched : other, i);
    await Promise.all(Array.from({ length: 600 }, (_, i) => log.add(utf8(`filler ${i}`))));
    const rules = parseWatchRules(
      `# watch\npublicKey ${Buffer.from(watched.spki).toString('base64')}\n`,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'tilelog-mon-')), 'state.json');
    const a = collector();
    let state = await monitorStep(client(), null, rules, a.events, 'start');
    expect(a.found.map((f) => f.index)).toEqual([1, 3]);
    expect(a.found[0]!.summary.kind).toBe('hashedrekord 0.0.2');
    await saveMonitorState(file, state);
    await post(watched, 99);
    const b = collector();
    state = await monitorStep(client(), await loadMonitorState(file, verifiers), rules, b.events);
    expect(b.found.map((f) => f.index)).toEqual([605]);
    expect(state.edge.size).toBe(606);
  });

  it('starting "now" reads the edge from tiles and reports only later entries', async () => {
    const { log, client } = await served();
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.add(utf8(`x ${i}`))));
    const c = collector();
    const state = await monitorStep(
      client(),
      null,
      parseWatchRules('digest ' + Buffer.alloc(32).toString('base64')),
      c.events,
      'now',
    );
    expect(state.edge.size).toBe(300);
    expect(c.found).toEqual([]);
  });

  it('alarms on a split view and on a bundle that does not match', async () => {
    const { log, client } = await served();
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.add(utf8(`real ${i}`))));
    const state = await monitorStep(client(), null, [], collector().events, 'start');
    // A fork: same key and origin, different entries.
    const fork = await served();
    await Promise.all(Array.from({ length: 50 }, (_, i) => fork.log.add(utf8(`fake ${i}`))));
    await expect(monitorStep(fork.client(), state, [], collector().events)).rejects.toMatchObject({
      code: 'corrupt',
    });
    await Promise.all(Array.from({ length: 30 }, (_, i) => fork.log.add(utf8(`more ${i}`))));
    await expect(monitorStep(fork.client(), state, [], collector().events)).rejects.toThrow(
      /not consistent/,
    );
    // A bad bundle on the honest log.
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.add(utf8(`new ${i}`))));
    const bad = client((path, body) => {
      if (path.includes('/tile/entries/')) body[body.length - 1]! ^= 1;
      return body;
    });
    await expect(monitorStep(bad, state, [], collector().events)).rejects.toThrow(/do not hash/);
  });

  it('summarizes production Rekor entries: key, certificate subject and SAN, digest', () => {
    const prod = (f: string) =>
      JSON.parse(readFileSync(`spec-vectors/sigstore-sigstore-js/${f}`, 'utf8'));
    const hr = summarize(
      fromBase64(
        prod('prod-log2025-1_hashedrekord-0.0.2_bundle.sigstore.json').verificationMaterial
          .tlogEntries[0].canonicalizedBody,
      )!,
    );
    expect(hr.kind).toBe('hashedrekord 0.0.2');
    expect(hr.publicKeys).toHaveLength(1);
    const dsse = summarize(
      fromBase64(
        prod('prod-log2025-1_dsse-0.0.2_bundle.sigstore.json').verificationMaterial.tlogEntries[0]
          .canonicalizedBody,
      )!,
    );
    expect(dsse.kind).toBe('dsse 0.0.2');
    expect(dsse.sans.length).toBeGreaterThan(0);
    expect(parseWatchRules(`san ${dsse.sans[0]}`).length).toBe(1);
    expect(summarize(utf8('not json')).kind).toBe('unknown');
    expect(() => parseWatchRules('colour blue')).toThrow(/line 1/);
  });
});

describe('mirror', () => {
  it('copies a remote log over HTTP verifiably, catches up, and serves it read-only', async () => {
    const { log, client } = await served();
    await Promise.all(Array.from({ length: 700 }, (_, i) => log.add(utf8(`m ${i}`))));
    const copy = new MemoryStore();
    expect(await migrate(new HttpStore(client()), copy, verifiers[0]!, ORIGIN)).toBe(700);
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.add(utf8(`n ${i}`))));
    expect(await migrate(new HttpStore(client()), copy, verifiers[0]!, ORIGIN)).toBe(800 - 512);
    const mirror = await Log.openReadOnly(copy, {
      origin: ORIGIN,
      verifierKey: signer.verifierKey,
    });
    expect(mirror.state.note).toBe(log.state.note);
    const app = createApp(mirror);
    expect((await app.request('/api/v2/log/entries', { method: 'POST', body: 'x' })).status).toBe(
      405,
    );
    const r = await app.request('/api/v2/proof/inclusion?index=5&treeSize=800');
    expect(r.status).toBe(200);
    // A tampered bundle on the way stops the copy.
    const bad = client((path, body) => {
      if (path.endsWith('/tile/entries/001')) body[10]! ^= 1;
      return body;
    });
    await expect(
      migrate(new HttpStore(bad), new MemoryStore(), verifiers[0]!, ORIGIN),
    ).rejects.toMatchObject({ code: 'corrupt' });
  });
});
