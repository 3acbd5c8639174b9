/**
 * Commands that run and manage a log you operate: keygen, serve, freeze (rotate and trust-root
 * are in trust.ts).
 * Each is a table of flags (src/cli/flags.ts) and a function over the parsed values.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { PERSONALITIES } from '../api/index.ts';
import { openStore, readSignerKey, type StoreConfig } from '../config.ts';
import { KEY_DETAILS, type KeyDetails } from '../entries/index.ts';
import {
  ALG_MLDSA44,
  generateCosignerSecret,
  generateSignerKey,
  parseCosignerSecret,
  parseSignerKey,
} from '../note/index.ts';
import {
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_PENDING,
  DEFAULT_REPUBLISH_MS,
  Log,
} from '../sequencer/index.ts';
import { startServer } from '../server.ts';
import { DEFAULT_WITNESS_TIMEOUT_MS } from '../witness/index.ts';
import { checkAddress, DATA, S3, STORAGE, untilSignal } from './common.ts';
import { defineCommand, type Flag, usageError } from './flags.ts';
import { tokenKeygen } from './pkcs11.ts';
import { signingKeygen } from './sign.ts';
import { witnessKeygen } from './witness.ts';

const KEY = {
  name: 'key',
  type: 'string',
  arg: 'FILE',
  env: 'TILELOG_KEY',
  help: 'signer key file, or a PKCS#11 URI with --origin (default: DATA/log.key, made if missing)',
} as const satisfies Flag;

const ORIGIN = {
  name: 'origin',
  type: 'string',
  arg: 'ORIGIN',
  env: 'TILELOG_ORIGIN',
  help: "checkpoint origin (default: the key's name)",
} as const satisfies Flag;

/** keygen writes a log's signer key pair (or a witness's keys). */
export const keygen = defineCommand({
  name: 'keygen',
  summary: 'Make a log key pair (OUT/log.key, 0600, and OUT/log.pub), a witness or a signing key.',
  notes: [
    'With --pkcs11 the Ed25519 key is made inside the token, sensitive and not extractable, and only',
    'the verifier key is written (an existing key at the URI: its verifier key is printed). ML-DSA-44',
    'keys stay files (tokens do not offer ML-DSA yet): --mldsa writes OUT/log-mldsa.key, or with',
    '--witness OUT/witness-mldsa.key, which the witness takes as --mldsa-key. With --signing',
    '--pkcs11 an ECDSA P-256 key is made in the token and only OUT/signing.pub is written.',
  ],
  flags: [
    { name: 'origin', type: 'string', arg: 'ORIGIN', help: 'the log origin, also the key name' },
    { name: 'out', type: 'string', arg: 'DIR', required: true, help: 'where to write the keys' },
    {
      name: 'mldsa',
      type: 'boolean',
      help: "also make the log's ML-DSA-44 cosigner key (OUT/log-mldsa.key)",
    },
    {
      name: 'witness',
      type: 'string',
      arg: 'NAME',
      help: 'make a witness key file (OUT/witness.key) named NAME instead',
    },
    {
      name: 'signing',
      type: 'boolean',
      help: 'make a key for tilelog sign instead (OUT/signing.key, OUT/signing.pub)',
    },
    {
      name: 'pkcs11',
      type: 'string',
      arg: 'URI',
      help: 'make the Ed25519 key (P-256 with --signing) in a PKCS#11 token (pkcs11:token=T;object=L?module-path=…); write only its public key',
    },
    {
      name: 'algorithm',
      type: 'string',
      arg: 'KEY_DETAILS',
      choices: KEY_DETAILS,
      help: 'with --signing: its algorithm (default PKIX_ECDSA_P256_SHA_256)',
    },
  ],
  async run({ origin, out, mldsa, witness, signing, algorithm, pkcs11 }) {
    if (algorithm !== undefined && !signing) usageError('--algorithm goes with --signing');
    if (signing) return signingKeygen(out, algorithm, pkcs11);
    if (pkcs11 !== undefined && witness !== undefined)
      return tokenKeygen('witness', witness, pkcs11, out, mldsa);
    if (pkcs11 !== undefined && origin !== undefined)
      return tokenKeygen('log', origin, pkcs11, out, mldsa);
    if (witness !== undefined) return witnessKeygen(witness, out);
    if (origin === undefined) usageError('keygen needs --origin (or --signing, or --witness NAME)');
    const skey = generateSignerKey(origin);
    const signer = parseSignerKey(skey);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'log.key'), skey + '\n', { mode: 0o600, flag: 'wx' });
    await writeFile(join(out, 'log.pub'), signer.verifierKey + '\n');
    console.log(signer.verifierKey);
    if (mldsa) {
      // The log's own ML-DSA-44 cosigner key, named like the log (tlog-checkpoint recommends one).
      const pq = generateCosignerSecret(origin, ALG_MLDSA44);
      await writeFile(join(out, 'log-mldsa.key'), pq + '\n', { mode: 0o600, flag: 'wx' });
      const vkey = parseCosignerSecret(pq).verifierKey;
      await writeFile(join(out, 'log-mldsa.pub'), vkey + '\n');
      console.log(vkey);
    }
    return 0;
  },
});

/** SERVE_FLAGS are the flags of `tilelog serve`; their names are ServeConfig's (src/server.ts). */
export const SERVE_FLAGS = [
  {
    name: 'config',
    type: 'string',
    arg: 'FILE',
    env: 'TILELOG_CONFIG',
    help: 'TOML file of flag values, keyed by flag name (max-batch = 1024); flags and environment win',
  },
  DATA,
  KEY,
  ORIGIN,
  {
    name: 'listen',
    type: 'string',
    arg: 'HOST:PORT',
    env: 'TILELOG_LISTEN',
    default: '127.0.0.1:8080',
    help: 'address to listen on (port 0: any free port)',
  },
  {
    name: 'prefix',
    type: 'string',
    arg: 'P',
    env: 'TILELOG_PREFIX',
    default: '/api/v2',
    help: 'URL prefix of every route',
  },
  {
    name: 'max-batch',
    type: 'int',
    env: 'TILELOG_MAX_BATCH',
    default: DEFAULT_MAX_BATCH,
    help: 'most entries one commit sequences',
  },
  {
    name: 'max-age-ms',
    type: 'int',
    arg: 'MS',
    env: 'TILELOG_MAX_AGE_MS',
    default: DEFAULT_MAX_AGE_MS,
    help: 'longest an entry waits for its batch',
  },
  {
    name: 'max-pending',
    type: 'int',
    env: 'TILELOG_MAX_PENDING',
    default: DEFAULT_MAX_PENDING,
    help: 'most entries waiting; beyond it writes get 503 and Retry-After',
  },
  {
    name: 'personality',
    type: 'string',
    arg: 'NAME',
    env: 'TILELOG_PERSONALITY',
    choices: PERSONALITIES,
    help: "a new log's write API, fixed for its life: rekor (POST log/entries, the default) or generic (POST add); an existing log refuses another",
  },
  {
    name: 'grpc-listen',
    type: 'string',
    arg: 'HOST:PORT',
    env: 'TILELOG_GRPC_LISTEN',
    help: 'also serve Rekor CreateEntry and grpc.health.v1 over gRPC (plaintext) there',
  },
  {
    name: 'allowed-key-details',
    type: 'list',
    env: 'TILELOG_ALLOWED_KEY_DETAILS',
    choices: KEY_DETAILS,
    help: 'the only Rekor key details accepted (default: all)',
  },
  {
    name: 'accept-dsse',
    type: 'boolean',
    env: 'TILELOG_ACCEPT_DSSE',
    help: 'accept Rekor DSSE entries',
  },
  {
    name: 'admission-workers',
    type: 'int',
    arg: 'N',
    env: 'TILELOG_ADMISSION_WORKERS',
    help: 'worker threads verifying Rekor entries (default: one per core less one, at least one)',
  },
  STORAGE,
  ...S3,
  {
    name: 'mldsa-key',
    type: 'string',
    arg: 'FILE',
    env: 'TILELOG_MLDSA_KEY',
    help: 'ML-DSA-44 cosigner key: the log also cosigns each checkpoint with it',
  },
  {
    name: 'witness-policy',
    type: 'string',
    arg: 'FILE',
    env: 'TILELOG_WITNESS_POLICY',
    help: 'C2SP tlog-policy file: the witnesses that must cosign each checkpoint',
  },
  {
    name: 'witness-timeout-ms',
    type: 'int',
    arg: 'MS',
    env: 'TILELOG_WITNESS_TIMEOUT_MS',
    default: DEFAULT_WITNESS_TIMEOUT_MS,
    help: 'how long to wait for the witnesses',
  },
  {
    name: 'witness-fail-open',
    type: 'boolean',
    env: 'TILELOG_WITNESS_FAIL_OPEN',
    help: 'publish a checkpoint even when the witness quorum is not met',
  },
  {
    name: 'checkpoint-interval-ms',
    type: 'int',
    arg: 'MS',
    env: 'TILELOG_CHECKPOINT_INTERVAL_MS',
    help: 'least time between two published checkpoints (default 0; 1000 with --witness-policy)',
  },
  {
    name: 'republish-interval-ms',
    type: 'int',
    arg: 'MS',
    env: 'TILELOG_REPUBLISH_INTERVAL_MS',
    default: DEFAULT_REPUBLISH_MS,
    help: 'publish an unchanged tree again this often, with fresh cosignatures',
  },
  {
    name: 'submit-deadline-ms',
    type: 'int',
    arg: 'MS',
    env: 'TILELOG_SUBMIT_DEADLINE_MS',
    default: 30_000,
    help: 'how long a submitter waits for a published checkpoint covering its entry before a 503',
  },
  {
    name: 'index',
    type: 'boolean',
    env: 'TILELOG_INDEX',
    help: 'also run the verifiable index of this log in-process, served under PREFIX/index',
  },
  {
    name: 'index-key',
    type: 'string',
    arg: 'FILE',
    env: 'TILELOG_INDEX_KEY',
    help: "the index's signer key file, or a PKCS#11 URI named ORIGIN/index (default: DATA/index/log.key, made if missing)",
  },
  {
    name: 'mirror-of',
    type: 'string',
    arg: 'VKEY',
    env: 'TILELOG_MIRROR_OF',
    help: 'serve the store read-only as a mirror of the log with this verifier key',
  },
  {
    name: 'mirror-policy',
    type: 'string',
    arg: 'FILE',
    env: 'TILELOG_MIRROR_POLICY',
    help: 'C2SP tlog-policy file: push each published checkpoint and its entries to these mirrors',
  },
  {
    name: 'lease-ms',
    type: 'int',
    arg: 'MS',
    env: 'TILELOG_LEASE_MS',
    default: DEFAULT_LEASE_MS,
    help: 'S3: how long the sequencer lease lasts without renewal',
  },
  {
    name: 'cluster-secret',
    type: 'string',
    arg: 'SECRET',
    env: 'TILELOG_CLUSTER_SECRET',
    help: 'S3: shared secret authenticating entries forwarded between instances',
  },
  {
    name: 'advertise-url',
    type: 'string',
    arg: 'URL',
    env: 'TILELOG_ADVERTISE_URL',
    help: 'S3: base URL where the other instances reach this one (default: the listen address)',
  },
] as const satisfies readonly Flag[];

/** serve runs the log server until SIGTERM or SIGINT, then drains and exits 0. */
export const serve = defineCommand({
  name: 'serve',
  summary: 'Serve a log: sequence, sign and publish entries over HTTP (tlog-tiles and Rekor v2).',
  flags: SERVE_FLAGS,
  configFile: 'config',
  notes: [
    'Each value comes from the command line, else the environment, else --config, else the default.',
    'SIGTERM and SIGINT stop accepting, commit the pending entries and exit 0.',
  ],
  async run({ config: _config, ...values }) {
    checkAddress('listen', values.listen);
    checkAddress('grpc-listen', values.grpcListen);
    await untilSignal(
      () =>
        startServer({
          ...values,
          allowedKeyDetails: values.allowedKeyDetails as KeyDetails[] | undefined,
        }),
      () => console.log('shutting down: draining pending entries'),
    );
    return 0;
  },
});

/** freezeLog commits the final frozen checkpoint of a log and returns it. */
export async function freezeLog(
  cfg: StoreConfig,
  keyFile?: string,
  origin?: string,
): Promise<string> {
  const signer = await readSignerKey(keyFile ?? join(cfg.data, 'log.key'), origin);
  const store = await openStore(cfg);
  try {
    const log = await Log.open(store, { origin: origin ?? signer.name, signer });
    await log.freeze();
    return log.state.note;
  } finally {
    await store.close();
  }
}

/** freeze ends a log: the last checkpoint carries the freeze line and writes get 405. */
export const freeze = defineCommand({
  name: 'freeze',
  summary: 'Freeze a log (with its server stopped): print its final checkpoint.',
  flags: [DATA, KEY, ORIGIN, STORAGE, ...S3],
  async run({ key, origin, ...store }) {
    process.stdout.write(await freezeLog(store, key, origin));
    return 0;
  },
});
