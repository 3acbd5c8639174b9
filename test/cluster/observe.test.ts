// What an operator sees of a running cluster: two `tilelog serve` processes on one Ceph RGW bucket,
// with a witness policy whose one witness is unreachable and --witness-fail-open, so that rounds
// run, fail for that witness and still publish. /healthz carries each instance's role; /metrics
// carries the role, the lease holder (with its URL) and age, the batches a frontend forwarded,
// the last publication time, and the witness rounds' latency and failures per witness.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it, onTestFinished } from 'vitest';

import { cosignerFromSeed } from '../../src/note/cosignature.ts';
import { ALG_COSIGNATURE_V1, generateSignerKey, parseSignerKey } from '../../src/note/index.ts';
import { type Child, kill9, startChild } from '../helpers/server.ts';

const endpoint = process.env.TILELOG_TEST_S3_ENDPOINT!;
const LEASE = 2000;
// A cosignature/v1 witness key nobody answers for: port 9 (discard) on loopback refuses.
const WITNESS_VKEY = cosignerFromSeed(
  'witness.example.test/w1',
  ALG_COSIGNATURE_V1,
  new Uint8Array(32).fill(7),
).verifierKey;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healthz(c: Child): Promise<{ status: string; role: string }> {
  return (await (await fetch(`${c.base}/healthz`)).json()) as { status: string; role: string };
}

async function metrics(c: Child): Promise<string> {
  return (await fetch(`${c.base}/metrics`)).text();
}

// value returns the sample of a metric line that matches re (its labels), or NaN.
function value(text: string, re: RegExp): number {
  const line = text.split('\n').find((l) => re.test(l));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

describe('/healthz and /metrics of a running cluster', () => {
  it('report the role, the lease, forwarding, publication and witness rounds', async () => {
    const origin = 'log.example.test/observe';
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-observe-'));
    const skey = generateSignerKey(origin);
    writeFileSync(join(dir, 'log.key'), skey + '\n');
    const policy = [
      `log ${parseSignerKey(skey).verifierKey}`,
      `witness W1 ${WITNESS_VKEY} http://127.0.0.1:9`,
      'quorum W1',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'policy'), policy);
    const args = [
      ...['--key', join(dir, 'log.key'), '--origin', origin, '--personality', 'generic'],
      ...['--storage', `s3://tilelog-test/observe-${process.pid}-${Date.now()}`],
      ...['--s3-endpoint', endpoint, '--s3-path-style', '--lease-ms', String(LEASE)],
      ...['--witness-policy', join(dir, 'policy'), '--witness-fail-open'],
      ...['--checkpoint-interval-ms', '100', '--max-age-ms', '5'],
    ];
    const env = { TILELOG_CLUSTER_SECRET: 'observe test secret' };
    const all = [
      await startChild(join(dir, 'a'), args, { env }),
      await startChild(join(dir, 'b'), args, { env }),
    ];
    onTestFinished(() => all.forEach((c) => c.proc.kill('SIGKILL')));
    let roles: string[] = [];
    for (let t = 0; !roles.includes('sequencer'); t++) {
      expect(t, 'a sequencer within 30 s').toBeLessThan(300);
      await sleep(100);
      roles = await Promise.all(all.map(async (c) => (await healthz(c)).role));
    }
    const seq = all[roles.indexOf('sequencer')]!;
    const front = all.find((c) => c !== seq)!;
    expect(await healthz(front)).toMatchObject({ status: 'SERVING', role: 'frontend' });
    expect(await healthz(seq)).toMatchObject({ status: 'SERVING', role: 'sequencer' });

    // Writes through both: the frontend forwards its batches to the sequencer.
    const t0 = Date.now() / 1000;
    let n = 0;
    for (const c of [front, seq, front])
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${c.url}/add`, { method: 'POST', body: `entry ${n++}` });
        expect(r.status, await r.text()).toBe(200);
      }
    await sleep(300); // past a renewal and a frontend's poll

    const m = { seq: await metrics(seq), front: await metrics(front) };
    const holderLine = new RegExp(
      `^tilelog_lease_holder\\{holder="[0-9a-f]+",url="${seq.base}"\\}`,
    );
    for (const [who, text] of Object.entries(m)) {
      const role = who === 'seq' ? 'sequencer' : 'frontend';
      expect(value(text, new RegExp(`^tilelog_role\\{role="${role}"\\}`)), who).toBe(1);
      expect(value(text, /^tilelog_role\{role="mirror"\}/), who).toBe(0);
      expect(value(text, holderLine), `${who} sees the holder`).toBe(1);
      const age = value(text, /^tilelog_lease_age_seconds /);
      expect(age, who).toBeGreaterThanOrEqual(0);
      expect(age, who).toBeLessThan(LEASE / 1000);
      expect(value(text, /^tilelog_lease_healthy /), who).toBe(1);
      const published = value(text, /^tilelog_last_publication_timestamp_seconds /);
      expect(published, who).toBeGreaterThanOrEqual(Math.floor(t0) - 1);
      expect(value(text, /^tilelog_checkpoint_size /), who).toBeGreaterThanOrEqual(9);
    }
    expect(
      value(m.front, /^tilelog_forwarded_batches_total\{outcome="sequenced"\}/),
    ).toBeGreaterThan(0);
    // Rounds ran without the quorum (the witness refuses connections) and still published.
    expect(value(m.seq, /^tilelog_witness_round_seconds_count\{quorum="false"\}/)).toBeGreaterThan(
      0,
    );
    expect(
      value(m.seq, /^tilelog_witness_failures_total\{witness="W1",reason="\w+"\}/),
    ).toBeGreaterThan(0);
    expect(value(m.seq, /^tilelog_publications_total\{kind="new"\}/)).toBeGreaterThan(0);

    // The sequencer dies: the frontend becomes the sequencer and says so.
    await kill9(seq);
    for (let t = 0; (await healthz(front)).role !== 'sequencer'; t++) {
      expect(t, 'takeover within 30 s').toBeLessThan(300);
      await sleep(100);
    }
    const after = await metrics(front);
    expect(value(after, /^tilelog_role\{role="sequencer"\}/)).toBe(1);
    expect(
      value(after, new RegExp(`^tilelog_lease_holder\\{holder="[0-9a-f]+",url="${front.base}"\\}`)),
    ).toBe(1);
  }, 120_000);
});
