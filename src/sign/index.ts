/**
 * A signing client for Rekor v2 logs with a long-lived key: sign, log, verify the answer, write a
 * Sigstore bundle. entry.ts, trust.ts and client.ts have no Node imports (they run in browsers);
 * keys.ts is the Node edge (PEM keys, key generation, hashing files).
 */
export type { ArtifactSigner } from './client.ts';
export { keyHint, signAndLog } from './client.ts';
export type { LogKey } from './entry.ts';
export { generateSigningKey, hashFile, p256Signer, parseSigningKey, spkiPem } from './keys.ts';
export { logKeyFromVkey, logKeysFromTrustedRoot } from './trust.ts';
