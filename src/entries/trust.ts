/**
 * Trust material for sigstore clients: the TrustedRoot `tlogs[]` entry and the SigningConfig
 * `rekorTlogUrls[]` entry that point a client at this log (sigstore protobuf-specs
 * TransparencyLogInstance and Service). For an Ed25519 log key, logId and checkpointKeyId are the
 * full C2SP key ID, as rekor-tiles publishes them (CLIENTS.md).
 */
import { concat, toBase64 } from '../bytes.ts';
import { ed25519SpkiDer } from '../crypto.ts';
import { ALG_ED25519, keyId, type NoteSigner } from '../note/index.ts';

/** trustMaterial returns the tlogs[] and rekorTlogUrls[] entries for a log at baseUrl. */
export function trustMaterial(
  baseUrl: string,
  signer: Pick<NoteSigner, 'name' | 'publicKey'>,
  start: Date,
) {
  const id = toBase64(keyId(signer.name, concat(Uint8Array.of(ALG_ED25519), signer.publicKey)));
  const validFor = { start: start.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  return {
    tlog: {
      baseUrl,
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: toBase64(ed25519SpkiDer(signer.publicKey)),
        keyDetails: 'PKIX_ED25519',
        validFor,
      },
      logId: { keyId: id },
      checkpointKeyId: { keyId: id },
    },
    rekorTlogUrl: { url: baseUrl, majorApiVersion: 2, validFor, operator: new URL(baseUrl).host },
  };
}
