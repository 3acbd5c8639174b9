/**
 * The operator commands of `tilelog` that work on whole logs: fsck, migrate, mirror, monitor,
 * witness. src/cli.ts dispatches to them.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { env, fail, intFlag, parseListen, progressBar } from './cli-shared.ts';
import { HttpStore, TlogClient } from './client/index.ts';
import { trustMaterial } from './entries/index.ts';
import { LogError } from './errors.ts';
import { freezeLog, loadOrCreateDevKey, openStore, readSignerKey, startWitness } from './main.ts';
import {
  loadMonitorState,
  monitorStep,
  parseWatchRules,
  saveMonitorState,
} from './monitor/index.ts';
import { parseVerifierKey } from './note/index.ts';
import { fsck, migrate } from './sequencer/index.ts';

export async function fsckCmd(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      storage: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-path-style': { type: 'boolean' },
      vkey: { type: 'string' },
      origin: { type: 'string' },
    },
  });
  const dataDir = values.data ?? env('DATA') ?? 'data';
  const vkeyText =
    values.vkey ??
    env('VKEY') ??
    (
      await readFile(join(dataDir, 'log.pub'), 'utf8').catch(() =>
        fail('fsck needs --vkey (or DATA/log.pub)'),
      )
    ).trim();
  const verifier = parseVerifierKey(vkeyText);
  const store = await openStore({
    dataDir,
    storage: values.storage ?? env('STORAGE'),
    s3Endpoint: values['s3-endpoint'] ?? env('S3_ENDPOINT'),
    s3PathStyle: values['s3-path-style'] ?? env('S3_PATH_STYLE') === '1',
  });
  try {
    const r = await fsck(store, verifier, values.origin ?? verifier.name, progressBar('fsck'));
    console.log(
      `ok: ${r.origin} size ${r.size}: ${r.bundles} entry bundles and ${r.tiles} tiles verified against the checkpoint`,
    );
    return 0;
  } catch (err) {
    console.log(`FAILED: ${err instanceof Error ? err.message : err}`);
    return 1;
  } finally {
    await store.close();
  }
}

export async function migrateCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      vkey: { type: 'string' },
      origin: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-path-style': { type: 'boolean' },
    },
  });
  if (!values.from || !values.to)
    fail('migrate needs --from DIR|s3://BUCKET/PREFIX and --to DIR|s3://BUCKET/PREFIX');
  const s3 = {
    s3Endpoint: values['s3-endpoint'] ?? env('S3_ENDPOINT'),
    s3PathStyle: values['s3-path-style'] ?? env('S3_PATH_STYLE') === '1',
  };
  const open = (where: string) =>
    where.startsWith('s3://')
      ? openStore({ dataDir: '.', storage: where, ...s3 })
      : openStore({ dataDir: where });
  const vkeyText =
    values.vkey ??
    env('VKEY') ??
    (values.from.startsWith('s3://')
      ? fail('migrate from S3 needs --vkey')
      : (await readFile(join(values.from, 'log.pub'), 'utf8')).trim());
  const verifier = parseVerifierKey(vkeyText);
  const [from, to] = [await open(values.from), await open(values.to)];
  try {
    const copied = await migrate(
      from,
      to,
      verifier,
      values.origin ?? verifier.name,
      progressBar('migrate'),
    );
    console.log(
      copied === 0
        ? 'nothing to copy: the destination already holds this checkpoint'
        : `copied and verified ${copied} entries`,
    );
  } finally {
    await from.close();
    await to.close();
  }
}

export async function monitorCmd(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      vkey: { type: 'string', multiple: true },
      state: { type: 'string' },
      watch: { type: 'string' },
      from: { type: 'string' },
      once: { type: 'boolean' },
      interval: { type: 'string' },
    },
  });
  if (!values.url || !values.vkey?.length) fail('monitor needs --url PREFIX and --vkey VKEY');
  const verifiers = values.vkey.map(parseVerifierKey);
  const client = new TlogClient({ url: values.url, verifiers });
  const rules = values.watch ? parseWatchRules(await readFile(values.watch, 'utf8')) : [];
  const stateDir = values.state ?? 'monitor-state';
  await mkdir(stateDir, { recursive: true });
  const file = join(stateDir, 'position.json');
  const from = values.from === 'start' ? 'start' : 'now';
  const interval = (intFlag(values.interval, 'interval') ?? 10) * 1000;
  const bar = progressBar('monitor');
  for (;;) {
    try {
      const state = await monitorStep(
        client,
        await loadMonitorState(file, verifiers),
        rules,
        {
          match: (index, summary, hit) =>
            console.log(
              JSON.stringify({
                index,
                kind: summary.kind,
                digest: summary.digest,
                matched: hit,
                publicKeys: summary.publicKeys,
                subjects: summary.subjects,
                sans: summary.sans,
              }),
            ),
          progress: bar,
        },
        from,
      );
      await saveMonitorState(file, state);
    } catch (err) {
      if (err instanceof LogError && err.code === 'corrupt') {
        console.error(`ALARM: ${err.message}`);
        return 2;
      }
      console.error(`monitor: ${err instanceof Error ? err.message : err} (will retry)`);
      if (values.once) return 1;
    }
    if (values.once) return 0;
    await new Promise((r) => setTimeout(r, interval));
  }
}

export async function witnessCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      key: { type: 'string' },
      listen: { type: 'string' },
      data: { type: 'string' },
      prefix: { type: 'string' },
    },
  });
  if (!values.config || !values.key) fail('witness needs --config FILE and --key FILE');
  const { host, port } = parseListen(values.listen ?? env('WITNESS_LISTEN') ?? '127.0.0.1:8081');
  const running = await startWitness({
    configFile: values.config,
    keyFile: values.key,
    dataDir: values.data ?? env('DATA') ?? 'witness-data',
    host,
    port,
    prefix: values.prefix ?? '',
  });
  const stop = () => void running.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export async function mirrorCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      vkey: { type: 'string' },
      to: { type: 'string' },
      's3-endpoint': { type: 'string' },
      's3-path-style': { type: 'boolean' },
    },
  });
  if (!values.url || !values.vkey || !values.to)
    fail('mirror needs --url PREFIX, --vkey VKEY and --to DIR|s3://BUCKET/PREFIX');
  const verifier = parseVerifierKey(values.vkey);
  const from = new HttpStore(new TlogClient({ url: values.url, verifiers: [verifier] }));
  const s3 = {
    s3Endpoint: values['s3-endpoint'] ?? env('S3_ENDPOINT'),
    s3PathStyle: values['s3-path-style'] ?? env('S3_PATH_STYLE') === '1',
  };
  const to = values.to.startsWith('s3://')
    ? await openStore({ dataDir: '.', storage: values.to, ...s3 })
    : await openStore({ dataDir: values.to });
  try {
    const copied = await migrate(from, to, verifier, verifier.name, progressBar('mirror'));
    console.log(
      copied === 0 ? 'the mirror is up to date' : `mirrored and verified ${copied} entries`,
    );
  } finally {
    await to.close();
  }
}

export async function rotateCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      'old-url': { type: 'string' },
      'new-origin': { type: 'string' },
      'new-data': { type: 'string' },
      'new-url': { type: 'string' },
    },
  });
  if (!values.data || !values['old-url'] || !values['new-origin'] || !values['new-data']) {
    fail(
      'rotate needs --data DIR --old-url URL --new-origin ORIGIN --new-data DIR [--new-url URL]',
    );
  }
  const now = new Date();
  const oldSigner = await readSignerKey(join(values.data, 'log.key'));
  // 1. Freeze the current shard: a final checkpoint with the freeze line; writes now get 405.
  const finalNote = await freezeLog(values.data);
  // 2. The next shard: a new origin and a new key.
  const next = await loadOrCreateDevKey(values['new-data'], values['new-origin']);
  if (!next.created) fail(`${values['new-data']} already holds a key; choose an empty directory`);
  const newUrl = values['new-url'] ?? `https://${values['new-origin']}`;
  // 3. What clients need: the old log bounded in time, the new one from now on.
  const old = trustMaterial(values['old-url'], oldSigner, now);
  const fresh = trustMaterial(newUrl, next.signer, now);
  const end = { end: old.tlog.publicKey.validFor.start };
  console.log(
    JSON.stringify(
      {
        frozenCheckpoint: finalNote,
        newVerifierKey: next.signer.verifierKey,
        trustedRootTlogs: [
          { ...old.tlog, publicKey: { ...old.tlog.publicKey, validFor: end } },
          fresh.tlog,
        ],
        signingConfigRekorTlogUrls: [fresh.rekorTlogUrl, { ...old.rekorTlogUrl, validFor: end }],
      },
      null,
      2,
    ),
  );
}
