/** Commands of a witness operator: `witness` (the server) and the key file `keygen --witness` makes. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  generateCosignerSecret,
  parseCosignerSecret,
} from '../note/index.ts';
import { startWitness, untilSignal } from '../server.ts';
import { defineCommand } from './flags.ts';

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
  summary: 'Run a witness (C2SP tlog-witness): cosign the checkpoints of the configured logs.',
  flags: [
    {
      name: 'config',
      type: 'string',
      arg: 'FILE',
      required: true,
      help: 'the logs to witness: one "log ORIGIN VKEY..." line each',
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
      help: "the witness's state (the latest checkpoint size of each log)",
    },
    { name: 'prefix', type: 'string', arg: 'P', default: '', help: 'URL prefix of the route' },
  ],
  async run(values) {
    const running = await startWitness(values);
    await untilSignal(running);
    return 0;
  },
});
