/**
 * The verifiable index's commands: `index` builds and serves an index of any tlog-tiles Rekor
 * log, `lookup` asks one and verifies everything it answers, `index verify` rebuilds the map on
 * its own and compares it with every committed root. Any failed check prints `ALARM: …`, exit 2.
 */
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createIndexApp, listen, normalizePrefix } from '../api/index.ts';
import { fromBase64, toBase64, toHex } from '../bytes.ts';
import { TlogClient } from '../client/index.ts';
import { openStateMap, openStore, readSignerKey } from '../config.ts';
import { LogError } from '../errors.ts';
import { decodeEntry } from '../explorer/index.ts';
import { checkInclusion, leafHash } from '../merkle/index.ts';
import { parseCheckpoint, parseVerifierKey } from '../note/index.ts';
import { Log } from '../sequencer/index.ts';
import { parseListen } from '../server.ts';
import { type LocalMap, openLocalMap } from '../storage/index.ts';
import { decodeBundle, ENTRIES, TILE_WIDTH, tileAt } from '../tiles/index.ts';
import {
  auditIndex,
  digestKey,
  Indexer,
  issuerKey,
  issuerSanKey,
  keyHash,
  MAP_LEVELDB,
  mapEntry,
  type MapValue,
  sanKey,
  verifyLookup,
} from '../vindex/index.ts';
import { DEFAULT_WITNESS_TIMEOUT_MS, parsePolicy, Witnessing } from '../witness/index.ts';
import { progressBar, S3 } from './common.ts';
import { defineCommand, usageError } from './flags.ts';

const INPUT = [
  { name: 'input', type: 'string', arg: 'URL', required: true, help: "the input log's prefix" },
  {
    name: 'input-vkey',
    type: 'string',
    arg: 'VKEY',
    required: true,
    multiple: true,
    help: "the input log's verifier key",
  },
] as const;

// inputOf opens the input log's verifying client from --input and --input-vkey.
function inputOf(v: { input: string; inputVkey: readonly string[] }) {
  const verifiers = v.inputVkey.map(parseVerifierKey);
  return { verifiers, client: new TlogClient({ url: v.input, verifiers }) };
}

// alarm turns a failed check into `ALARM: …` and exit code 2; other errors propagate.
async function alarmed(f: () => Promise<number>): Promise<number> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof LogError && err.code === 'corrupt') {
      console.error(`ALARM: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

const INDEX_FLAGS = [
  ...INPUT,
  {
    name: 'key',
    type: 'string',
    arg: 'FILE|URI',
    required: true,
    help: "the index's signer key: a key file, or a PKCS#11 URI (with --origin)",
  },
  {
    name: 'origin',
    type: 'string',
    arg: 'ORIGIN',
    help: "the output log's origin, the name of a --key in a PKCS#11 token (a key file names itself)",
  },
  {
    name: 'data',
    type: 'string',
    arg: 'DIR|s3://BUCKET/PREFIX',
    default: 'index-data',
    help: 'the output log and map (DIR), or the output log in S3',
  },
  {
    name: 'map',
    type: 'string',
    arg: 'DIR',
    help: 'where the map is kept (default DATA/map; index-map beside S3)',
  },
  ...S3,
  { name: 'listen', type: 'string', arg: 'HOST:PORT', help: 'serve lookups and the output log' },
  { name: 'prefix', type: 'string', arg: 'P', default: '/index', help: 'the index prefix' },
  { name: 'chunk', type: 'int', arg: 'N', default: 16384, help: 'entries per map commit' },
  { name: 'once', type: 'boolean', help: 'catch up once, then exit' },
  { name: 'interval', type: 'int', arg: 'S', default: 5, help: 'seconds between passes' },
  {
    name: 'witness-policy',
    type: 'string',
    arg: 'FILE',
    help: "C2SP tlog-policy file: the witnesses that must cosign the output log's checkpoints",
  },
  {
    name: 'witness-timeout-ms',
    type: 'int',
    arg: 'MS',
    default: DEFAULT_WITNESS_TIMEOUT_MS,
    help: 'how long to wait for the witnesses',
  },
] as const;

interface IndexData {
  readonly output: Log;
  readonly kv: LocalMap;
  close(): Promise<void>;
}

// openIndexData opens the output log (LevelDB in DATA/output, or the bucket, its dedup index in
// the map directory, with the partial tiles a bucket served as it is needs) and the map.
async function openIndexData(v: {
  key: string;
  origin?: string;
  data: string;
  map?: string;
  s3Endpoint?: string;
  s3PathStyle: boolean;
  witnessPolicy?: string;
  witnessTimeoutMs: number;
}): Promise<IndexData> {
  const signer = await readSignerKey(v.key, v.origin);
  const s3 = v.data.startsWith('s3://');
  const mapDir = v.map ?? (s3 ? 'index-map' : join(v.data, 'map'));
  const store = s3
    ? await openStore({ ...v, data: mapDir, storage: v.data })
    : await openStore({ data: join(v.data, 'output') });
  const witnessing = v.witnessPolicy
    ? new Witnessing({
        policy: parsePolicy(await readFile(v.witnessPolicy, 'utf8')),
        timeoutMs: v.witnessTimeoutMs,
      })
    : undefined;
  const output = await Log.open(store, {
    origin: signer.name,
    signer,
    keepPartials: s3,
    witnessing,
  });
  const kv = await openStateMap(mapDir, MAP_LEVELDB);
  return {
    output,
    kv,
    async close() {
      await output.close();
      await store.close();
      await kv.close();
    },
  };
}

/** indexCmd builds an index of the input log and keeps it up to date. */
export const indexCmd = defineCommand({
  name: 'index',
  summary: 'Build a verifiable index of a Rekor log, append map revisions, serve lookups.',
  flags: INDEX_FLAGS,
  notes: ['exit 2: ALARM, the input log served unverifiable entries or checkpoints'],
  async run(v) {
    const { output, kv, close } = await openIndexData(v);
    const input = inputOf(v).client;
    // On a terminal a bar; otherwise one line per map commit, for logs.
    const bar = process.stderr.isTTY
      ? progressBar('index')
      : (done: number, total: number) => console.error(`index: ${done}/${total} entries mapped`);
    return alarmed(async () => {
      const indexer = await Indexer.open({
        input,
        output,
        kv,
        chunk: v.chunk,
        events: { progress: bar },
      });
      if (v.listen) {
        const { host, port } = parseListen(v.listen);
        const prefix = normalizePrefix(v.prefix);
        const app = createIndexApp({ prefix, indexer, output });
        const l = await listen(app.fetch, host, port, prefix);
        console.error(`index: serving ${l.url}`);
      }
      for (;;) {
        try {
          if (await indexer.step()) console.error(`index: revision ${indexer.state.revisions - 1}`);
        } catch (err) {
          if (err instanceof LogError && err.code === 'corrupt') throw err;
          console.error(`index: ${err instanceof Error ? err.message : err} (will retry)`);
          if (v.once) return close().then(() => 1);
        }
        if (v.once && !v.listen) return close().then(() => 0);
        await new Promise((r) => setTimeout(r, v.interval * 1000));
      }
    });
  },
});

/** indexVerify rebuilds the map from the input log and compares every committed root. */
export const indexVerify = defineCommand({
  name: 'index verify',
  summary: 'Rebuild the map from the input log and compare it with every committed map root.',
  flags: [
    { name: 'index', type: 'string', arg: 'URL', required: true, help: 'the index prefix URL' },
    { name: 'vkey', type: 'string', arg: 'VKEY', required: true, help: "the index's verifier key" },
    ...INPUT,
  ],
  notes: ['exit 2: ALARM, a committed root differs (the first such revision is named)'],
  async run(v) {
    const dir = await mkdtemp(join(tmpdir(), 'tilelog-index-verify-'));
    const scratch = await openLocalMap(join(dir, 'map'), MAP_LEVELDB);
    try {
      return await alarmed(async () => {
        const input = inputOf(v);
        const r = await auditIndex({
          output: new TlogClient({ url: v.index, verifiers: [parseVerifierKey(v.vkey)] }),
          input: input.client,
          inputVerifiers: input.verifiers,
          scratch,
          progress: progressBar('index verify'),
        });
        const d = r.firstDiffering;
        if (d) {
          console.error(
            `ALARM: revision ${d.revision} (input size ${d.inputSize}) commits to map root ` +
              `${toBase64(d.committed)}, the input log rebuilds to ${toBase64(d.rebuilt)}`,
          );
          return 2;
        }
        console.log(JSON.stringify({ revisions: r.revisions, verified: true }));
        return 0;
      });
    } finally {
      await scratch.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
});

interface LookupState {
  output: string | null;
  lists: Record<string, { size: number; root: string }>;
}

async function loadLookupState(file: string): Promise<LookupState> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LookupState;
  } catch {
    return { output: null, lists: {} };
  }
}

const corrupt = (msg: string) => new LogError('corrupt', msg);

/** lookup asks an index for a key and verifies the answer, the output log and every hit. */
export const lookup = defineCommand({
  name: 'lookup',
  summary: 'Look up entries in a verifiable index; verify every proof and every hit.',
  flags: [
    { name: 'index', type: 'string', arg: 'URL', required: true, help: 'the index prefix URL' },
    { name: 'vkey', type: 'string', arg: 'VKEY', required: true, help: "the index's verifier key" },
    ...INPUT,
    { name: 'digest', type: 'string', arg: 'sha256:HEX', help: 'an artifact digest' },
    { name: 'key', type: 'string', arg: 'sha256:HEX', help: 'SHA-256 of a DER public key' },
    { name: 'san', type: 'string', arg: 'VALUE', help: 'a SAN of any type' },
    { name: 'issuer', type: 'string', arg: 'URL', help: 'an OIDC issuer (with --san: the pair)' },
    { name: 'state', type: 'string', arg: 'DIR', default: 'lookup-state', help: 'what was seen' },
  ],
  notes: [
    'prints one JSON line per verified hit; none (exit 0) when the key is proved absent',
    'exit 2: ALARM, a proof failed or the index or a log is inconsistent with what was seen',
  ],
  async run(v) {
    const q = { digest: v.digest, key: v.key, san: v.san, issuer: v.issuer };
    const given = Object.fromEntries(Object.entries(q).filter(([, x]) => x !== undefined));
    let keyString: string;
    try {
      keyString = queryKeyOf(given);
    } catch (err) {
      return usageError(err instanceof Error ? err.message : String(err));
    }
    const key = keyHash(keyString);
    const hex = toHex(key);
    const outputVerifiers = [parseVerifierKey(v.vkey)];
    const output = new TlogClient({ url: v.index, verifiers: outputVerifiers });
    const { client: input, verifiers: inputVerifiers } = inputOf(v);
    await mkdir(v.state, { recursive: true });
    const file = join(v.state, 'lookup.json');
    const state = await loadLookupState(file);
    const old = state.lists[hex];
    const since: MapValue | undefined = old && { size: old.size, listRoot: fromBase64(old.root)! };
    return alarmed(async () => {
      const hits: number[] = [];
      let first: ReturnType<typeof verifyLookup> | undefined;
      for (let start = 0; ;) {
        const sinceQ = since && start === 0 ? `&since=${since.size}` : '';
        const res = await fetch(
          `${v.index.replace(/\/+$/, '')}/lookup/${hex}?start=${start}&limit=1000${sinceQ}`,
        );
        if (!res.ok) throw new Error(`lookup: ${res.status} ${(await res.text()).trim()}`);
        const page = verifyLookup(await res.json(), {
          key,
          outputVerifiers,
          inputVerifiers,
          since: start === 0 ? since : undefined,
        });
        if (first && page.revisionIndex !== first.revisionIndex)
          throw new Error('lookup: the index moved to a new revision between pages; run again');
        first ??= page;
        hits.push(...page.indices);
        start += page.indices.length;
        if (start >= page.list.size) break;
      }
      if (state.output) {
        const prev = parseCheckpoint(state.output.slice(0, state.output.indexOf('\n\n') + 1));
        await output.checkConsistent(prev, first.output.checkpoint);
      }
      const cp = first.input.checkpoint;
      for (const i of hits) {
        const t = tileAt(ENTRIES, Math.floor(i / TILE_WIDTH), cp.size)!;
        const entry = decodeBundle(await input.tile(t), t.width)[i % TILE_WIDTH]!;
        try {
          checkInclusion(
            i,
            cp.size,
            leafHash(entry),
            await input.proveInclusion(i, cp.size),
            cp.root,
          );
        } catch (err) {
          throw corrupt(`hit ${i} is not in the input log: ${(err as Error).message}`);
        }
        const keys = mapEntry(entry).keys;
        if (!keys.includes(keyString)) throw corrupt(`hit ${i} does not carry ${keyString}`);
        const line = {
          index: i,
          keys,
          entry: decodeEntry(entry),
          canonicalizedBody: toBase64(entry),
        };
        console.log(JSON.stringify(line));
      }
      state.output = first.output.note;
      state.lists[hex] = { size: first.list.size, root: toBase64(first.list.listRoot) };
      if (first.list.size === 0) delete state.lists[hex];
      await writeFile(file + '.tmp', JSON.stringify(state));
      await rename(file + '.tmp', file);
      return 0;
    });
  },
});

// queryKeyOf maps the lookup flags to the typed key string, as the lookup API does.
function queryKeyOf(q: Record<string, string | undefined>): string {
  const { digest, key, san, issuer } = q;
  const n = Object.keys(q).length;
  if (n === 0 || n > 2 || (n === 2 && (san === undefined || issuer === undefined)))
    throw new Error('give one of --digest, --key, --san [--issuer], --issuer');
  const hexOf = (s: string, what: string) => {
    const m = /^(sha256|sha384|sha512):([0-9a-f]+)$/.exec(s);
    if (!m || m[2]!.length !== { sha256: 64, sha384: 96, sha512: 128 }[m[1]!])
      throw new Error(`${what} must be sha256:<64 lowercase hex>`);
    return m;
  };
  if (digest !== undefined) {
    const m = hexOf(digest, '--digest');
    return digestKey(m[1]!, Uint8Array.from(m[2]!.match(/../g)!.map((h) => parseInt(h, 16))));
  }
  if (key !== undefined) return `key:${hexOf(key, '--key')[0]}`;
  if (san !== undefined && issuer !== undefined) return issuerSanKey(issuer, san);
  return san !== undefined ? sanKey(san) : issuerKey(issuer!);
}
