// A bundle from `tilelog sign`, judged by @sigstore/verify (an independent verifier, given the
// signing key under the bundle's hint) and by `tilelog verify-bundle` against the log's
// TrustedRoot.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { expect } from 'vitest';

import { runCli } from '../helpers/cli.ts';
import type { TestLog } from './log.ts';

/**
 * expectBundleVerifies checks that the bundle in file verifies for artifact with both verifiers,
 * and that @sigstore/verify refuses it for other bytes; spki is the signing key (DER).
 */
export async function expectBundleVerifies(
  t: TestLog,
  file: string,
  artifact: string,
  spki: Uint8Array,
): Promise<void> {
  const bundle = JSON.parse(readFileSync(file, 'utf8'));
  const trust = toTrustMaterial(TrustedRoot.fromJSON(t.trustedRoot), {
    [bundle.verificationMaterial.publicKey.hint]: { rawBytes: spki },
  } as never);
  const verifier = new Verifier(trust, {
    tlogThreshold: 1,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundleFromJSON(bundle), readFileSync(artifact)));
  expect(() => verifier.verify(toSignedEntity(bundleFromJSON(bundle), Buffer.from('x')))).toThrow();
  const rootFile = join(dirname(file), 'trusted_root.json');
  writeFileSync(rootFile, JSON.stringify(t.trustedRoot));
  const v = await runCli([
    'verify-bundle',
    '--bundle',
    file,
    '--trusted-root',
    rootFile,
    '--artifact',
    artifact,
  ]);
  expect(v.code, v.out).toBe(0);
  expect(v.out).toMatch(/^valid$/m);
}
