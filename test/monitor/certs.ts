// Fulcio-like signing certificates made with the openssl CLI (a real X.509 encoder, not ours):
// a SAN, the OIDC issuer extension (1.3.6.1.4.1.57264.1.8, a DER UTF8String) and any others,
// and hashedrekord requests signed with the certificate's key.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  readonly der: Uint8Array;
  request(artifact: Uint8Array): object;
}

/** makeCert issues a self-signed P-256 certificate with san (URI: or email:) and extensions. */
export function makeCert(san: string, extensions: Record<string, string> = {}): TestCert {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const dir = mkdtempSync(join(tmpdir(), 'tilelog-cert-'));
  try {
    writeFileSync(join(dir, 'key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const ext = Object.entries(extensions).flatMap(([oid, v]) => [
      '-addext',
      `${oid}=ASN1:UTF8String:${v}`,
    ]);
    execFileSync('openssl', [
      ...['req', '-x509', '-new', '-key', join(dir, 'key.pem'), '-subj', '/O=sigstore.dev'],
      ...['-days', '1', '-outform', 'DER', '-out', join(dir, 'cert.der')],
      ...['-addext', `subjectAltName=${san}`, ...ext],
    ]);
    const der = new Uint8Array(readFileSync(join(dir, 'cert.der')));
    return {
      der,
      request: (artifact) => ({
        hashedRekordRequestV002: {
          digest: createHash('sha256').update(artifact).digest('base64'),
          signature: {
            content: sign('sha256', artifact, privateKey).toString('base64'),
            verifier: {
              x509Certificate: { rawBytes: Buffer.from(der).toString('base64') },
              keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            },
          },
        },
      }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const ISSUER = '1.3.6.1.4.1.57264.1.8';
export const BUILD_SIGNER_URI = '1.3.6.1.4.1.57264.1.9';
