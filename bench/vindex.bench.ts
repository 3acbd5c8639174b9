// The verifiable index (#14) at scale. Two Rekor v2 logs are built as Rekor admission builds them
// (real ECDSA signatures; one entry in 100 admitted, the rest formatted alike and checked equal):
// one of BENCH_VINDEX_SIZE (100,000) hashedrekord entries with Fulcio-like certificates (SANs of
// every kind, issuer extension .1.8 or legacy .1.1), one of BENCH_VINDEX_KEY_SIZE (100,000)
// entries with public keys. Each is indexed over HTTP, and:
//
// - correctness: every key's hits (every key, SAN, issuer and issuer+SAN key, and a sample of
//   digests) read through verified lookup pages equal a plain scan of the log; exit 1 if not;
// - index build entries/s against the follower alone verifying the same entries (target >= 0.5);
// - lookups/s against GET tile reads on the same server (target >= 0.25);
// - RSS as the map grows from 100k to BENCH_VINDEX_MAP_KEYS (1M) keys (target <= 1.3x).
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { createApp, listen } from '../src/api/index.ts';
import { toHex, u64be } from '../src/bytes.ts';
import { TlogClient } from '../src/client/index.ts';
import { admitCreateEntry } from '../src/entries/index.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../src/note/index.ts';
import { Log } from '../src/sequencer/index.ts';
import { LevelStore, MemoryStore, openLocalMap } from '../src/storage/index.ts';
import { EMPTY_EDGE, TILE_WIDTH, tilePath } from '../src/tiles/index.ts';
import {
  EMPTY_STATE,
  Indexer,
  keyHash,
  MAP_LEVELDB,
  mapEntry,
  MapStore,
  verifyLookup,
} from '../src/vindex/index.ts';
import { makeSigner, request } from '../test/helpers/signers.ts';
import { makeCert, type San } from '../test/vindex/certs.ts';
import { machine, rate, report, threadCpuUs } from './util.ts';

const SIZE = Number(process.env.BENCH_VINDEX_SIZE ?? 100_000);
const KEY_SIZE = Number(process.env.BENCH_VINDEX_KEY_SIZE ?? 100_000);
const MAP_KEYS = Number(process.env.BENCH_VINDEX_MAP_KEYS ?? 1_000_000);
const DIGEST_SAMPLE = 3000;
const tmp = mkdtempSync(join(tmpdir(), 'bench-vindex-'));
const enc = new TextEncoder();

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

const mib = (n: number) => n / 2 ** 20;

// threadCpu is each thread's CPU time in ms (Linux): where a build's CPU goes (LevelDB's and
// V8's threads, libuv's pool).
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const [tid, [user, system]] of threadCpuUs(process.pid)) {
    // Node 20 leaves its threads unnamed: the main thread, then others by creation order.
    const name = tid === process.pid ? 'main' : `+${tid - process.pid}`;
    out.set(name, (user + system) / 1000);
  }
  return out;
}

// byThread is the CPU µs per op each thread spent since `before`, most first.
function byThread(before: Map<string, number>, ops: number): string {
  return [...threadCpu()]
    .map(([k, v]) => [k, ((v - (before.get(k) ?? 0)) * 1000) / ops] as const)
    .filter(([, v]) => v >= 0.5)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ');
}

// tablePages is what LevelDB table files (.ldb) have mapped into the process (Linux): how many
// and their resident KiB. MAP_LEVELDB bounds them (64 tables of 1 MiB, or 4 MiB at level 0).
function tablePages(): { tables: number; kib: number } {
  let kib = 0;
  let tables = 0;
  let table = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      table = /\.ldb( \(deleted\))?$/.test(line);
      if (table) tables++;
    } else if (table && line.startsWith('Rss:')) kib += Number(/\d+/.exec(line)![0]);
  }
  return { tables, kib };
}

// rssNow is RSS as anonymous + file MiB from /proc (Linux; '?' elsewhere), nothing collected.
function rssNow(): string {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (k: string) => Number(/\d+/.exec(status.split(`${k}:`)[1] ?? '')?.[0]) / 1024;
    return `${kib('VmRSS').toFixed(0)} (${kib('RssAnon').toFixed(0)} + ${kib('RssFile').toFixed(0)})`;
  } catch {
    return '?';
  }
}

// memory collects garbage (twice: freed buffers' memory goes back on the second) and returns
// RSS in MiB with what makes it up: the JS heap, buffers, and (Linux) anonymous and file pages.
function memory(): { rss: number; parts: string } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  let proc = '';
  try {
    const kib = (k: string) =>
      Number(/\d+/.exec(readFileSync('/proc/self/status', 'utf8').split(`${k}:`)[1] ?? '')?.[0]);
    proc = `, anonymous ${(kib('RssAnon') / 1024).toFixed(0)}, file ${(kib('RssFile') / 1024).toFixed(0)}`;
    const t = tablePages();
    proc += ` (of it LevelDB tables ${(t.kib / 1024).toFixed(0)}: ${t.tables} mapped, at most 64)`;
  } catch {
    // not Linux
  }
  const parts =
    `heap used ${mib(m.heapUsed).toFixed(0)} of ${mib(m.heapTotal).toFixed(0)}, ` +
    `external ${mib(m.external).toFixed(0)}, array buffers ${mib(m.arrayBuffers).toFixed(0)}${proc}`;
  return { rss: mib(m.rss), parts };
}

// Identities: 400 certificates, each with its own key, SANs of every kind and an issuer.
const ISSUERS = [
  'https://accounts.google.com',
  'https://token.actions.githubusercontent.com',
  'https://github.com/login/oauth',
  'https://gitlab.com',
];
function identity(i: number) {
  const sans: San[] =
    i % 4 === 0
      ? [{ email: `user${i}@example.com` }]
      : i % 4 === 1
        ? [
            {
              uri: `https://github.com/org${i % 37}/repo${i}/.github/workflows/ci.yml@refs/heads/main`,
            },
          ]
        : i % 4 === 2
          ? [{ email: `user${i % 50}@example.com` }, { username: `u${i}` }]
          : [{ dns: `host${i % 20}.example.com` }];
  const issuer = ISSUERS[i % ISSUERS.length]!;
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cert = makeCert(i % 9 === 0 ? { sans, legacyIssuer: issuer } : { sans, issuer }, pair);
  return { pair, der: Buffer.from(cert.der).toString('base64') };
}

function certRequest(ids: ReturnType<typeof identity>[], i: number) {
  const id = ids[i % ids.length]!;
  // Every tenth artifact repeats an earlier one: digests shared between entries.
  const artifact = enc.encode(`artifact ${i % 10 === 9 ? i - 9 : i}`);
  return {
    hashedRekordRequestV002: {
      digest: createHash('sha256').update(artifact).digest('base64'),
      signature: {
        content: sign('sha256', artifact, id.pair.privateKey).toString('base64'),
        verifier: {
          x509Certificate: { rawBytes: id.der },
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        },
      },
    },
  };
}

type Req = ReturnType<typeof certRequest> | ReturnType<typeof request>;

// Rekor admission verifies each signature and certificate (about 4 ms an entry on this machine,
// most of the time to build 200,000 entries), so one request in ADMIT_EVERY is admitted and the
// rest are formatted as admission formats them: the canonical JSON (RFC 8785) of the entry,
// whose fields are the request's. Every admitted body must equal the formatted one byte for byte.
const ADMIT_EVERY = 100;
const admitOpts = { allowedKeyDetails: ['PKIX_ECDSA_P256_SHA_256' as const] };
function entryBody(r: Req, i: number): Uint8Array {
  const h = r.hashedRekordRequestV002;
  const v = h.signature.verifier as {
    keyDetails: string;
    publicKey?: { rawBytes: string };
    x509Certificate?: { rawBytes: string };
  };
  const key = v.publicKey
    ? `"publicKey":{"rawBytes":"${v.publicKey.rawBytes}"}`
    : `"x509Certificate":{"rawBytes":"${v.x509Certificate!.rawBytes}"}`;
  const body = enc.encode(
    `{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":` +
      `{"algorithm":"SHA2_256","digest":"${h.digest}"},"signature":{"content":` +
      `"${h.signature.content}","verifier":{"keyDetails":"${v.keyDetails}",${key}}}}}}`,
  );
  if (i % ADMIT_EVERY === 0) {
    const admitted = admitCreateEntry(r, admitOpts).body;
    if (toHex(admitted) !== toHex(body))
      throw new Error(`entry ${i}: admission formats it otherwise`);
  }
  return body;
}

// buildLog admits n requests (see entryBody) and logs them (LevelDB, unsynced).
async function buildLog(origin: string, n: number, req: (i: number) => Req) {
  const store = await LevelStore.open(join(tmp, origin.replace(/\W/g, '_')), { sync: false });
  const signer = parseSignerKey(generateSignerKey(origin));
  const log = await Log.open(store, {
    origin,
    signer,
    maxBatch: 16_384,
    maxAgeMs: 5,
    maxPending: 65_536,
    deadlineMs: 3_600_000,
  });
  for (let i = 0; i < n; i += 10_000) {
    const bodies = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) bodies.push(entryBody(req(j), j));
    await Promise.all(bodies.map((b) => log.add(b)));
  }
  return { log, store, verifiers: [parseVerifierKey(signer.verifierKey)] };
}

// profiled writes a CPU profile of f to BENCH_VINDEX_CPU_PROF/<name>.cpuprofile when that is set,
// or, with BENCH_VINDEX_HEAP_PROF=DIR, a sampled profile of everything f allocates (collected or
// not) to DIR/<name>.heapprofile.
async function profiled<T>(name: string, f: () => Promise<T>): Promise<T> {
  const heap = process.env.BENCH_VINDEX_HEAP_PROF;
  const dir = process.env.BENCH_VINDEX_CPU_PROF ?? heap;
  if (!dir) return f();
  const s = new Session();
  s.connect();
  const post = (m: string, p?: object) =>
    new Promise<unknown>((res, rej) => s.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  const [domain, start, stop, ext] = heap
    ? ['HeapProfiler', 'startSampling', 'stopSampling', 'heapprofile']
    : ['Profiler', 'start', 'stop', 'cpuprofile'];
  await post(`${domain}.enable`);
  await post(
    `${domain}.${start}`,
    heap
      ? {
          samplingInterval: 16384,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        }
      : undefined,
  );
  try {
    return await f();
  } finally {
    const r = (await post(`${domain}.${stop}`)) as { profile: object };
    writeFileSync(join(dir, `${name.replace(/\W/g, '_')}.${ext}`), JSON.stringify(r.profile));
    s.disconnect();
  }
}

type Built = Awaited<ReturnType<typeof buildLog>>;

// indexAndCheck measures follower and indexer on one log and checks lookups against a scan.
async function indexAndCheck(name: string, b: Built) {
  const server = await listen(createApp(b.log).fetch, '127.0.0.1', 0, '/api/v2');
  const client = new TlogClient({ url: server.url, verifiers: b.verifiers });
  const { checkpoint } = await client.checkpoint();
  let t0 = performance.now();
  let cpu = process.cpuUsage();
  const followThreads = threadCpu();
  let n = 0;
  for await (const e of client.follow(EMPTY_EDGE, checkpoint)) n += e.entry.length > 0 ? 1 : 0;
  const followRate = rate(n, performance.now() - t0);
  const followCpu = cpuMs(cpu) / n;
  const followBy = byThread(followThreads, n);
  const kv = await openLocalMap(join(tmp, `${name}-map`), MAP_LEVELDB);
  const outSigner = parseSignerKey(
    generateSignerKey(`bench.example/${name.replace(/\W/g, '-')}/index`),
  );
  const output = await Log.open(new MemoryStore(), {
    origin: outSigner.name,
    signer: outSigner,
    maxAgeMs: 1,
  });
  // The indexer reads the input through a client of its own: the follower's holds up to 64 MiB
  // of the tiles it read, which is all of the public-key log, and the build would read them
  // from memory instead of from the server as the follower did.
  const input = new TlogClient({ url: server.url, verifiers: b.verifiers });
  const ix = await Indexer.open({ input, output, kv });
  t0 = performance.now();
  cpu = process.cpuUsage();
  const threads = threadCpu();
  await profiled(`${name}-build`, () => ix.step());
  const indexRate = rate(checkpoint.size, performance.now() - t0);
  const indexCpu = cpuMs(cpu) / checkpoint.size;
  report(`${name}: index build`, indexRate, 'entries/s', followRate, 'follower alone', '≥ 0.5');
  // CPU time (all threads, LevelDB's too) depends less on the machine's load than wall time.
  console.log(
    `  CPU per entry: index build ${(indexCpu * 1000).toFixed(0)} µs, follower ` +
      `${(followCpu * 1000).toFixed(0)} µs (ratio ${(followCpu / indexCpu).toFixed(2)}); ` +
      `load average ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(`  index build by thread (µs per entry): ${byThread(threads, checkpoint.size)}`);
  console.log(`  follower by thread (µs per entry): ${followBy}`);
  // The plain scan, and every non-digest key plus a sample of digests through verified lookups.
  const want = new Map<string, number[]>();
  for await (const { index, entry } of client.follow(EMPTY_EDGE, checkpoint))
    for (const k of mapEntry(entry).keys) (want.get(k) ?? want.set(k, []).get(k)!).push(index);
  const digests = [...want.keys()].filter((k) => k.startsWith('digest:'));
  const keys = [
    ...[...want.keys()].filter((k) => !k.startsWith('digest:')),
    ...digests.filter((_, i) => i % Math.ceil(digests.length / DIGEST_SAMPLE) === 0),
    'san:nobody@example.com',
  ];
  const verify = {
    outputVerifiers: [parseVerifierKey(outSigner.verifierKey)],
    inputVerifiers: b.verifiers,
  };
  const byType: Record<string, number> = {};
  let bad = 0;
  for (const k of keys) {
    const got: number[] = [];
    for (let start = 0; ;) {
      const a = await ix.lookup(keyHash(k), { start, limit: 10_000 });
      const v = verifyLookup(JSON.parse(JSON.stringify(a)), { key: keyHash(k), ...verify });
      got.push(...v.indices);
      start += v.indices.length;
      if (start >= v.list.size) break;
    }
    const type = k.slice(0, k.indexOf(':'));
    byType[type] = (byType[type] ?? 0) + 1;
    if (JSON.stringify(got) !== JSON.stringify(want.get(k) ?? [])) {
      bad++;
      console.log(`MISMATCH ${k}: ${got.length} hits, the scan has ${want.get(k)?.length ?? 0}`);
    }
  }
  console.log(
    `${name}: ${checkpoint.size.toLocaleString()} entries, ${want.size.toLocaleString()} keys; ` +
      `lookups equal to the scan for ${keys.length - bad}/${keys.length} keys ` +
      JSON.stringify(byType),
  );
  await server.close();
  return { ix, output, keys, bad, kv };
}

// lookupsVsTiles runs `conns` clients for ms each against lookups, then GET tile, on one server.
async function lookupsVsTiles(b: Built, ix: Indexer, output: Log, keys: string[]) {
  const app = createApp(b.log, { index: { prefix: '/api/v2/index', indexer: ix, output } });
  const server = await listen(app.fetch, '127.0.0.1', 0, '/api/v2');
  const hexes = keys.map((k) => toHex(keyHash(k)));
  const tiles = Math.floor(b.log.state.checkpoint.size / TILE_WIDTH);
  const drive = async (path: () => string, ms = 4000, conns = 16) => {
    let count = 0;
    const end = performance.now() + ms;
    await Promise.all(
      Array.from({ length: conns }, async () => {
        while (performance.now() < end) {
          const r = await fetch(`${server.url}/${path()}`);
          if (r.status !== 200) throw new Error(`${path()}: ${r.status}`);
          await r.arrayBuffer();
          count++;
        }
      }),
    );
    return rate(count, ms);
  };
  const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)]!;
  const tilePaths = Array.from({ length: tiles }, (_, n) =>
    tilePath({ level: 0, n, width: TILE_WIDTH }),
  );
  await drive(() => pick(tilePaths), 1000); // warm-up
  const tileRate = await drive(() => pick(tilePaths));
  await drive(() => `index/lookup/${pick(hexes)}`, 1000);
  const lookupRate = await drive(() => `index/lookup/${pick(hexes)}`);
  report('lookups (same server)', lookupRate, 'req/s', tileRate, 'GET tile', '≥ 0.25');
  await server.close();
}

// mapRss grows a map of synthetic keys (10 per entry) and reports RSS at 100k and at MAP_KEYS.
async function mapRss() {
  const kv = await openLocalMap(join(tmp, 'rss-map'), MAP_LEVELDB);
  const map = new MapStore(kv, (e) => ({
    keys: Array.from({ length: 10 }, (_, j) => `bench:${toHex(e)}:${j}`),
    problems: [],
  }));
  let state = EMPTY_STATE;
  let at100k = { rss: 0, parts: '' };
  // RSS along the way, read without collecting garbage (which would change what is measured).
  const steps: string[] = [];
  for (let i = 0; state.counts.keys < MAP_KEYS;) {
    const n = Math.min(10_000, (MAP_KEYS - state.counts.keys) / 10);
    const entries = Array.from({ length: n }, (_, j) => ({ index: i + j, entry: u64be(i + j) }));
    i += n;
    const edge = { size: i, levels: [], bundle: [] };
    state = await map.apply(state, entries, { ...state, edge });
    if (!at100k.rss && state.counts.keys >= 100_000) at100k = memory();
    if (state.counts.keys % 200_000 === 0) steps.push(`${state.counts.keys / 1e6}M ${rssNow()}`);
  }
  const atEnd = memory();
  report(
    `RSS at ${(MAP_KEYS / 1e6).toFixed(1)}M map keys`,
    atEnd.rss,
    'MiB',
    at100k.rss,
    'RSS at 100k keys',
    '≤ 1.3',
  );
  console.log(`  at 100k keys (MiB): ${at100k.parts}`);
  console.log(`  at ${(MAP_KEYS / 1e6).toFixed(1)}M keys (MiB): ${atEnd.parts}`);
  console.log(`  along the way, no GC (MiB, anonymous + file): ${steps.join(', ')}`);
  await kv.close();
}

// BENCH_VINDEX_PARTS picks parts while iterating (comma list of certs, keys, rss; default all).
const PARTS = new Set((process.env.BENCH_VINDEX_PARTS ?? 'certs,keys,rss').split(','));

console.log(`# verifiable index; ${machine()}`);
let t = performance.now();
const ids = Array.from({ length: 400 }, (_, i) => identity(i));
const signers = Array.from({ length: 64 }, () => makeSigner('PKIX_ECDSA_P256_SHA_256'));
const logs = [
  ...(PARTS.has('certs')
    ? [
        {
          name: 'certificates',
          b: await buildLog('bench.example/certs', SIZE, (i) => certRequest(ids, i)),
        },
      ]
    : []),
  ...(PARTS.has('keys')
    ? [
        {
          name: 'public keys',
          b: await buildLog('bench.example/keys', KEY_SIZE, (i) =>
            request(
              signers[i % signers.length]!,
              enc.encode(`key artifact ${i % 10 === 9 ? i - 9 : i}`),
            ),
          ),
        },
      ]
    : []),
];
console.log(`built the input logs in ${((performance.now() - t) / 1000).toFixed(0)} s`);
t = performance.now();
const runs = [];
for (const l of logs) runs.push(await indexAndCheck(l.name, l.b));
console.log(`indexed and checked in ${((performance.now() - t) / 1000).toFixed(0)} s`);
if (logs[0]) await lookupsVsTiles(logs[0].b, runs[0]!.ix, runs[0]!.output, runs[0]!.keys);
if (PARTS.has('rss')) await mapRss();
for (const { b } of logs) {
  await b.log.close();
  await b.store.close();
}
for (const r of runs) {
  await r.output.close();
  await r.kv.close();
}
rmSync(tmp, { recursive: true, force: true });
if (runs.some((r) => r.bad > 0)) {
  console.log('FAIL: lookups differ from the plain scan');
  process.exit(1);
}
