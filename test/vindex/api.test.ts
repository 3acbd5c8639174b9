// The index's HTTP routes on a real in-process log: lookups by every parameter answer what a
// plain scan finds and verify; the output log is a tlog-tiles log under the index prefix; bad
// parameters are 400s with a reason.
import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { createApp, createIndexApp, createMetrics } from '../../src/api/index.ts';
import { TlogClient } from '../../src/client/index.ts';
import { Indexer, issuerSanKey, keyHash, verifyLookup } from '../../src/vindex/index.ts';
import { inputLog, inputVerifiers, outputLog, outputVerifiers, populate, scan } from './fixture.ts';
import { memoryKv } from './helpers.ts';

async function served() {
  const input = await inputLog();
  await populate(input.app, input.log, 0, 200);
  const output = await outputLog();
  const indexer = await Indexer.open({ input: input.client(), output, kv: memoryKv() });
  await indexer.step();
  const index = { prefix: '/api/v2/index', indexer, output };
  const app = createApp(input.log, { index, metrics: createMetrics() });
  return { input, app, output, indexer, want: await scan(input.client()) };
}

describe('index API', () => {
  it('answers lookups by digest, key, SAN, issuer and issuer with SAN, verified', async () => {
    const { app, want } = await served();
    const pick = (prefix: string) => [...want.keys()].find((k) => k.startsWith(prefix))!;
    const digest = pick('digest:sha256:');
    const key = pick('key:sha256:');
    const san = pick('san:');
    const issuer = pick('issuer:');
    const queries: [string, string][] = [
      [digest, `digest=${digest.slice('digest:'.length)}`],
      [key, `key=${key.slice('key:'.length)}`],
      [san, `san=${encodeURIComponent(san.slice(4))}`],
      [issuer, `issuer=${encodeURIComponent(issuer.slice(7))}`],
      [
        issuerSanKey('https://accounts.example.com', 'alice@example.com'),
        'issuer=https%3A%2F%2Faccounts.example.com&san=alice%40example.com',
      ],
    ];
    for (const [k, q] of queries) {
      const res = await app.request(`/api/v2/index/lookup?${q}`);
      expect(res.status, q).toBe(200);
      const v = verifyLookup(await res.json(), {
        key: keyHash(k),
        outputVerifiers,
        inputVerifiers,
      });
      expect(v.indices, k).toEqual(want.get(k));
    }
    const hex = createHash('sha256').update(san).digest('hex');
    const res = await app.request(`/api/v2/index/lookup/${hex}?limit=2&start=1`);
    const v = verifyLookup(await res.json(), {
      key: keyHash(san),
      outputVerifiers,
      inputVerifiers,
    });
    expect(v.indices).toEqual(want.get(san)!.slice(1, 3));
  });

  it('serves the output log under the index prefix', async () => {
    const { app, output } = await served();
    const client = new TlogClient({
      url: 'http://x/api/v2/index',
      verifiers: outputVerifiers,
      fetch: (async (u: string) => app.request(u)) as typeof fetch,
    });
    const { checkpoint } = await client.checkpoint();
    expect(checkpoint.size).toBe(1);
    const leaves = [];
    for await (const e of client.follow({ size: 0, levels: [], bundle: [] }, checkpoint))
      leaves.push(e.entry);
    expect(leaves).toHaveLength(1);
    expect(checkpoint.origin).toBe(output.state.checkpoint.origin);
  });

  it('refuses malformed lookups with a 400 and a reason', async () => {
    const { app } = await served();
    for (const q of [
      '',
      'digest=sha256:ABCD',
      `digest=sha256:${'A'.repeat(64)}`,
      `digest=md5:${'a'.repeat(32)}`,
      `key=sha512:${'a'.repeat(128)}`,
      'san=',
      'san=a&digest=sha256:' + 'a'.repeat(64),
      'issuer=x&san=y&key=sha256:' + 'a'.repeat(64),
      'color=red',
      'san=a&limit=0',
      'san=a&limit=10001',
      'san=a&start=-1',
      'san=a&start=01',
      'san=' + 'a'.repeat(5000),
    ]) {
      const res = await app.request(`/api/v2/index/lookup?${q}`);
      expect(res.status, q).toBe(400);
      expect((await res.text()).length).toBeGreaterThan(5);
    }
    expect((await app.request('/api/v2/index/lookup/ABC')).status).toBe(400);
    expect((await app.request(`/api/v2/index/lookup/${'A'.repeat(64)}`)).status).toBe(400);
  });

  it('counts entries, keys and unmapped entries by reason in /metrics', async () => {
    const { app, output, indexer, want } = await served();
    const standalone = createIndexApp({ prefix: '/index', indexer, output });
    for (const res of [await app.request('/metrics'), await standalone.request('/metrics')]) {
      expect(res.status).toBe(200);
      const text = await res.text();
      const value = (name: string) => {
        const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
        return m ? Number(m[1]) : undefined;
      };
      expect(value('tilelog_index_entries')).toBe(200);
      expect(value('tilelog_index_keys')).toBe(want.size);
      // populate: every fifth entry is junk, and identity 4 (8 of each 100) has no SAN.
      expect(value('tilelog_index_unmapped_entries')).toBe(40);
      expect(value('tilelog_index_problems{reason="not_json"}')).toBe(40);
      expect(value('tilelog_index_problems{reason="no_san"}')).toBe(
        indexer.state.counts.problems.no_san,
      );
      expect(value('tilelog_index_problems{reason="bad_certificate"}')).toBe(0);
      expect(value('tilelog_index_revisions')).toBe(1);
    }
  });
});
