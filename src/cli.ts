/**
 * The `tilelog` command line: keygen, serve, add, proof. Every flag of serve also has an
 * environment variable (TILELOG_<FLAG>), for containers and npm start.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { fromBase64, toBase64 } from './bytes.ts';
import { env, fail, intFlag, parseListen } from './cli-shared.ts';
import { fsckCmd, migrateCmd, mirrorCmd, monitorCmd, rotateCmd, witnessCmd } from './cli-tools.ts';
import { KEY_DETAILS, type KeyDetails, trustMaterial } from './entries/index.ts';
import { freezeLog, readSignerKey, startServer } from './main.ts';
import { checkInclusion, leafHash } from './merkle/index.ts';
import {
  generateSignerKey,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
} from './note/index.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  generateCosignerSecret,
  parseCosignerSecret,
} from './note/index.ts';
import { NOT_CHECKED, verifyBundle } from './verify/index.ts';

const USAGE = `usage:
  tilelog keygen --origin ORIGIN --out DIR [--mldsa] | keygen --witness NAME --out DIR
  tilelog witness --config FILE --key FILE [--listen HOST:PORT] [--data DIR]
  tilelog mirror --url PREFIX --vkey V --to DIR|s3://BUCKET/PREFIX   (serve it with serve --mirror-of V)
  tilelog monitor --url PREFIX --vkey V [--state DIR] [--watch FILE] [--from now|start] [--once] [--interval S]
  tilelog serve [--data DIR] [--key FILE] [--origin O] [--listen HOST:PORT] [--prefix P]
                [--max-batch N] [--max-age-ms MS] [--max-pending N] [--allowed-key-details A,B] [--accept-dsse]
                [--storage s3://BUCKET/PREFIX [--s3-endpoint URL] [--s3-path-style]] [--mldsa-key FILE]
                [--witness-policy FILE [--witness-timeout-ms MS] [--witness-fail-open]] [--mirror-of VKEY]
  tilelog freeze [--data DIR] [--key FILE]      (with the server stopped)
  tilelog rotate --data DIR --old-url URL --new-origin ORIGIN --new-data DIR [--new-url URL]
  tilelog add [--url URL] [--vkey VKEY] FILE...
  tilelog proof inclusion [--url URL] (--index I | --file F) [--size N]
  tilelog proof consistency [--url URL] --first M [--last N]
  tilelog trust-root --url https://HOST --key FILE
  tilelog fsck [--data DIR | --storage s3://BUCKET/PREFIX ...] [--vkey VKEY]
  tilelog migrate --from DIR|s3://BUCKET/PREFIX --to DIR|s3://BUCKET/PREFIX [--vkey VKEY]
  tilelog verify-bundle --bundle B --trusted-root T [--artifact F]
environment: TILELOG_DATA, TILELOG_KEY, TILELOG_ORIGIN, TILELOG_LISTEN, TILELOG_PREFIX,
  TILELOG_MAX_BATCH, TILELOG_MAX_AGE_MS, TILELOG_MAX_PENDING, TILELOG_ALLOWED_KEY_DETAILS, TILELOG_ACCEPT_DSSE=1,
  TILELOG_STORAGE, TILELOG_S3_ENDPOINT (or AWS_ENDPOINT_URL), TILELOG_S3_PATH_STYLE=1,
  TILELOG_URL, TILELOG_VKEY`;

async function keygen(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      origin: { type: 'string' },
      out: { type: 'string' },
      witness: { type: 'string' },
      mldsa: { type: 'boolean' },
    },
  });
  if (values.witness && values.out) return witnessKeygen(values.witness, values.out);
  if (!values.origin || !values.out)
    fail('keygen needs --origin and --out (or --witness NAME and --out)');
  const skey = generateSignerKey(values.origin);
  const signer = parseSignerKey(skey);
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'log.key'), skey + '\n', { mode: 0o600, flag: 'wx' });
  await writeFile(join(values.out, 'log.pub'), signer.verifierKey + '\n');
  console.log(signer.verifierKey);
  if (values.mldsa) {
    // The log's own ML-DSA-44 cosigner key, named like the log (tlog-checkpoint recommends one).
    const pq = generateCosignerSecret(values.origin, ALG_MLDSA44);
    await writeFile(join(values.out, 'log-mldsa.key'), pq + '\n', { mode: 0o600, flag: 'wx' });
    const vkey = parseCosignerSecret(pq).verifierKey;
    await writeFile(join(values.out, 'log-mldsa.pub'), vkey + '\n');
    console.log(vkey);
  }
}

// A witness key file holds two secret keys, Ed25519 (cosignature/v1) and ML-DSA-44.
async function witnessKeygen(name: string, out: string): Promise<void> {
  const keys = [
    generateCosignerSecret(name, ALG_COSIGNATURE_V1),
    generateCosignerSecret(name, ALG_MLDSA44),
  ];
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'witness.key'), keys.join('\n') + '\n', { mode: 0o600, flag: 'wx' });
  const vkeys = keys.map((k) => parseCosignerSecret(k).verifierKey);
  await writeFile(join(out, 'witness.pub'), vkeys.join('\n') + '\n');
  console.log(vkeys.join('\n'));
}

async function serveCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      key: { type: 'string' },
      origin: { type: 'string' },
      listen: { type: 'string' },
      prefix: { type: 'string' },
      'max-batch': { type: 'string' },
      'max-age-ms': { type: 'string' },
      'max-pending': { type: 'string' },
      'allowed-key-details': { type: 'string' },
      'accept-dsse': { type: 'boolean' },
      storage: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-path-style': { type: 'boolean' },
      'mldsa-key': { type: 'string' },
      'mirror-of': { type: 'string' },
      'witness-policy': { type: 'string' },
      'witness-timeout-ms': { type: 'string' },
      'witness-fail-open': { type: 'boolean' },
    },
  });
  const allowed = values['allowed-key-details'] ?? env('ALLOWED_KEY_DETAILS');
  const allowedKeyDetails = allowed?.split(',').map((k) => k.trim());
  for (const k of allowedKeyDetails ?? []) {
    if (!(KEY_DETAILS as string[]).includes(k))
      fail(`--allowed-key-details: ${k} is not one of ${KEY_DETAILS.join(', ')}`);
  }
  const { host, port } = parseListen(values.listen ?? env('LISTEN') ?? '127.0.0.1:8080');
  const running = await startServer({
    dataDir: values.data ?? env('DATA') ?? 'data',
    keyFile: values.key ?? env('KEY'),
    origin: values.origin ?? env('ORIGIN'),
    host,
    port,
    prefix: values.prefix ?? env('PREFIX') ?? '/api/v2',
    maxBatch: intFlag(values['max-batch'] ?? env('MAX_BATCH'), 'max-batch'),
    maxAgeMs: intFlag(values['max-age-ms'] ?? env('MAX_AGE_MS'), 'max-age-ms'),
    maxPending: intFlag(values['max-pending'] ?? env('MAX_PENDING'), 'max-pending'),
    allowedKeyDetails: allowedKeyDetails as KeyDetails[] | undefined,
    acceptDsse: values['accept-dsse'] ?? env('ACCEPT_DSSE') === '1',
    storage: values.storage ?? env('STORAGE'),
    s3Endpoint: values['s3-endpoint'] ?? env('S3_ENDPOINT'),
    s3PathStyle: values['s3-path-style'] ?? env('S3_PATH_STYLE') === '1',
    mldsaKeyFile: values['mldsa-key'] ?? env('MLDSA_KEY'),
    mirrorOf: values['mirror-of'] ?? env('MIRROR_OF'),
    witnessPolicyFile: values['witness-policy'] ?? env('WITNESS_POLICY'),
    witnessTimeoutMs: intFlag(
      values['witness-timeout-ms'] ?? env('WITNESS_TIMEOUT_MS'),
      'witness-timeout-ms',
    ),
    witnessFailOpen: values['witness-fail-open'] ?? env('WITNESS_FAIL_OPEN') === '1',
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('shutting down: draining pending entries');
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function freezeCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { data: { type: 'string' }, key: { type: 'string' }, origin: { type: 'string' } },
  });
  const note = await freezeLog(
    values.data ?? env('DATA') ?? 'data',
    values.key ?? env('KEY'),
    values.origin ?? env('ORIGIN'),
  );
  process.stdout.write(note);
}

async function trustRootCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { url: { type: 'string' }, key: { type: 'string' } },
  });
  if (!values.url || !values.key) fail('trust-root needs --url https://HOST and --key FILE');
  if (!URL.canParse(values.url)) fail(`--url ${values.url} is not a URL`);
  const url = new URL(values.url);
  const signer = await readSignerKey(values.key);
  if (!url.host.includes(signer.name) && !values.url.includes(signer.name)) {
    console.error(
      `warning: key name ${signer.name} does not appear in ${values.url}; sigstore clients match them`,
    );
  }
  console.log(
    JSON.stringify(trustMaterial(values.url.replace(/\/$/, ''), signer, new Date()), null, 2),
  );
}

async function verifyBundleCmd(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      bundle: { type: 'string' },
      'trusted-root': { type: 'string' },
      artifact: { type: 'string' },
    },
  });
  if (!values.bundle || !values['trusted-root'])
    fail('verify-bundle needs --bundle B and --trusted-root T');
  const readJson = async (f: string) => {
    try {
      return JSON.parse(await readFile(f, 'utf8'));
    } catch (e) {
      return fail(`${f}: ${e instanceof Error ? e.message : e}`);
    }
  };
  const artifact = values.artifact ? new Uint8Array(await readFile(values.artifact)) : undefined;
  const r = verifyBundle(
    await readJson(values.bundle),
    await readJson(values['trusted-root']),
    artifact,
  );
  for (const c of r.checks) console.log(`ok: ${c}`);
  console.log(NOT_CHECKED);
  if (r.valid) {
    console.log('valid');
    return 0;
  }
  console.log(`invalid: ${r.reason}`);
  return 1;
}

async function fetchOk(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (!res.ok) fail(`${init?.method ?? 'GET'} ${url}: ${res.status} ${(await res.text()).trim()}`);
  return res;
}

async function addCmd(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { url: { type: 'string' }, vkey: { type: 'string' } },
  });
  const url = values.url ?? env('URL') ?? 'http://127.0.0.1:8080/api/v2';
  const vkey = values.vkey ?? env('VKEY');
  if (positionals.length === 0) fail('add needs at least one FILE');
  for (const file of positionals) {
    const entry = await readFile(file);
    const res = await fetchOk(`${url}/add`, {
      method: 'POST',
      body: entry,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    const r = (await res.json()) as { index: string; checkpoint: string; hashes: string[] };
    const text = vkey
      ? openNote(r.checkpoint, [parseVerifierKey(vkey)]).text
      : r.checkpoint.slice(0, r.checkpoint.indexOf('\n\n') + 1);
    const cp = parseCheckpoint(text);
    checkInclusion(
      Number(r.index),
      cp.size,
      leafHash(entry),
      r.hashes.map((h) => fromBase64(h) ?? fail('bad hash')),
      cp.root,
    );
    console.log(
      JSON.stringify({
        file,
        index: Number(r.index),
        treeSize: cp.size,
        verified: vkey ? 'signature and inclusion' : 'inclusion',
      }),
    );
  }
}

async function proofCmd(args: string[]): Promise<void> {
  const [kind, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      url: { type: 'string' },
      index: { type: 'string' },
      file: { type: 'string' },
      size: { type: 'string' },
      first: { type: 'string' },
      last: { type: 'string' },
    },
  });
  const url = values.url ?? env('URL') ?? 'http://127.0.0.1:8080/api/v2';
  const cp = parseCheckpoint(
    (await (await fetchOk(`${url}/checkpoint`)).text()).split('\n\n')[0] + '\n',
  );
  if (kind === 'inclusion') {
    const size = values.size ?? String(cp.size);
    const which = values.file
      ? `leafHash=${encodeURIComponent(toBase64(leafHash(await readFile(values.file))))}`
      : `index=${values.index ?? fail('proof inclusion needs --index or --file')}`;
    console.log(await (await fetchOk(`${url}/proof/inclusion?${which}&treeSize=${size}`)).text());
  } else if (kind === 'consistency') {
    const first = values.first ?? fail('proof consistency needs --first');
    console.log(
      await (
        await fetchOk(
          `${url}/proof/consistency?firstSize=${first}&lastSize=${values.last ?? cp.size}`,
        )
      ).text(),
    );
  } else fail('proof needs inclusion or consistency');
}

/** main runs the command line and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  try {
    switch (cmd) {
      case 'keygen':
        await keygen(args);
        return 0;
      case 'serve':
        await serveCmd(args);
        return 0;
      case 'add':
        await addCmd(args);
        return 0;
      case 'proof':
        await proofCmd(args);
        return 0;
      case 'trust-root':
        await trustRootCmd(args);
        return 0;
      case 'freeze':
        await freezeCmd(args);
        return 0;
      case 'fsck':
        return await fsckCmd(args);
      case 'migrate':
        await migrateCmd(args);
        return 0;
      case 'witness':
        await witnessCmd(args);
        return 0;
      case 'monitor':
        return await monitorCmd(args);
      case 'mirror':
        await mirrorCmd(args);
        return 0;
      case 'rotate':
        await rotateCmd(args);
        return 0;
      case 'verify-bundle':
        return await verifyBundleCmd(args);
      default:
        console.error(USAGE);
        return cmd === undefined || cmd === 'help' ? 0 : 2;
    }
  } catch (err) {
    console.error(`tilelog ${cmd}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
