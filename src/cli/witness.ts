/**
 * Commands of a witness operator: `witness` (the server), `bastion` (for a witness that cannot be
 * reached) and the key file `keygen --witness` makes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { startBastion } from '../api/index.ts';
import { LogError } from '../errors.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  generateCosignerSecret,
  parseCosignerSecret,
} from '../note/index.ts';
import { parseListen, type Running, startWitness } from '../server.ts';
import { untilSignal } from './common.ts';
import { defineCommand, usageError } from './flags.ts';

/** witnessKeygen writes a witness key file: two secret keys, Ed25519 (cosignature/v1) and ML-DSA-44. */
export async function witnessKeygen(name: string, out: string): Promise<number> {
  const keys = [
    generateCosignerSecret(name, ALG_COSIGNATURE_V1),
    generateCosignerSecret(name, ALG_MLDSA44),
  ];
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'witness.key'), keys.join('\n') + '\n', { mode: 0o600, flag: 'wx' });
  const vkeys = keys.map((k) => parseCosignerSecret(k).verifierKey);
  await writeFile(join(out, 'witness.pub'), vkeys.join('\n') + '\n');
  console.log(vkeys.join('\n'));
  return 0;
}

/** witness runs a C2SP tlog-witness server until SIGTERM or SIGINT. */
export const witness = defineCommand({
  name: 'witness',
  summary:
    'Run a witness (C2SP tlog-witness): cosign checkpoints and subtrees of the configured logs.',
  flags: [
    {
      name: 'config',
      type: 'string',
      arg: 'FILE',
      help: 'the logs to witness: one "log ORIGIN VKEY..." line each (or --log-list, or both)',
    },
    {
      name: 'log-list',
      type: 'string',
      arg: 'FILE|URL',
      help: 'a log list in the same format, polled: logs are added and removed without a restart',
    },
    {
      name: 'log-list-interval',
      type: 'int',
      arg: 'SECONDS',
      default: 60,
      help: 'time between polls of --log-list (a list that does not parse keeps the previous one)',
    },
    {
      name: 'key',
      type: 'string',
      arg: 'FILE',
      required: true,
      help: 'witness key file (tilelog keygen --witness), or a PKCS#11 URI of its Ed25519 key',
    },
    {
      name: 'name',
      type: 'string',
      arg: 'NAME',
      help: "the witness's key name, with a PKCS#11 --key (a key file names its keys)",
    },
    {
      name: 'mldsa-key',
      type: 'string',
      arg: 'FILE',
      help: 'also cosign with this ML-DSA-44 key file (keygen --witness --pkcs11 --mldsa); tokens hold no ML-DSA keys',
    },
    {
      name: 'listen',
      type: 'string',
      arg: 'HOST:PORT',
      env: 'TILELOG_WITNESS_LISTEN',
      default: '127.0.0.1:8081',
      help: 'address to listen on',
    },
    {
      name: 'data',
      type: 'string',
      arg: 'DIR',
      env: 'TILELOG_DATA',
      default: 'witness-data',
      help: "the witness's state (the latest cosigned checkpoint of each log)",
    },
    {
      name: 'prefix',
      type: 'string',
      arg: 'P',
      default: '',
      help: 'URL prefix of the routes (submission and monitoring prefix alike)',
    },
    {
      name: 'bastion',
      type: 'string',
      arg: 'HOST:PORT',
      help: "also serve through this bastion's backend endpoint (C2SP https-bastion), dialling out",
    },
    {
      name: 'bastion-key',
      type: 'string',
      arg: 'FILE',
      help: 'Ed25519 key (PEM) for the bastion; default DATA/bastion.key, made when missing',
    },
    {
      name: 'bastion-ca',
      type: 'string',
      arg: 'FILE',
      help: "PEM trust anchors for the bastion's certificate (default: the system's)",
    },
  ],
  async run(values) {
    if (!values.config && !values.logList) usageError('missing --config FILE (or --log-list)');
    await untilSignal(() => startWitness(values));
    return 0;
  },
});

/** bastion runs a C2SP https-bastion until SIGTERM or SIGINT. */
export const bastion = defineCommand({
  name: 'bastion',
  summary: 'Run an HTTPS bastion (C2SP https-bastion): route requests to backends that dial in.',
  flags: [
    {
      name: 'listen',
      type: 'string',
      arg: 'HOST:PORT',
      default: '127.0.0.1:8443',
      help: 'address for clients, who ask for /KEYHASH/PATH',
    },
    {
      name: 'backend-listen',
      type: 'string',
      arg: 'HOST:PORT',
      default: '127.0.0.1:8444',
      help: 'address for backends (TLS 1.3, ALPN bastion/0, Ed25519 client certificate)',
    },
    { name: 'tls-key', type: 'string', arg: 'FILE', required: true, help: 'TLS key (PEM)' },
    {
      name: 'tls-cert',
      type: 'string',
      arg: 'FILE',
      required: true,
      help: 'TLS certificate chain (PEM), for backends and clients',
    },
    {
      name: 'allow',
      type: 'string',
      arg: 'FILE',
      help: 'backend key hashes to serve, one a line (else any: unknown hashes then get 502)',
    },
    {
      name: 'clients-http',
      type: 'boolean',
      help: 'serve clients plain HTTP (behind a TLS-terminating proxy) instead of HTTPS',
    },
  ],
  async run(values) {
    await untilSignal(() => startBastionServer(values));
    return 0;
  },
});

/** BastionConfig is everything `tilelog bastion` needs; the names are its flags'. */
export interface BastionConfig {
  readonly listen: string;
  readonly backendListen: string;
  readonly tlsKey: string;
  readonly tlsCert: string;
  readonly allow?: string;
  readonly clientsHttp?: boolean;
}

/** startBastionServer starts an https-bastion (src/api/bastion-server.ts). */
export async function startBastionServer(cfg: BastionConfig): Promise<Running> {
  const lines = cfg.allow ? (await readFile(cfg.allow, 'utf8')).split('\n') : undefined;
  const allow = lines?.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const bad = allow?.find((h) => !/^[0-9a-f]{64}$/.test(h));
  if (bad) throw new LogError('bad_request', `bastion: ${bad.slice(0, 80)} is not a key hash`);
  const b = await startBastion({
    clients: parseListen(cfg.listen),
    backends: parseListen(cfg.backendListen),
    key: await readFile(cfg.tlsKey, 'utf8'),
    cert: await readFile(cfg.tlsCert, 'utf8'),
    allow: allow && new Set(allow),
    clientsTls: !cfg.clientsHttp,
    say: (line) => console.log(line),
  });
  console.log(`bastion: backends dial ${b.backendAddress}; serving ${b.url}/KEYHASH/`);
  return { url: b.url, close: () => b.close() };
}
