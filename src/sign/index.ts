/**
 * A signing client for Rekor v2 logs with a long-lived key: sign, log, verify the answer, write a
 * Sigstore bundle. entry.ts, trust.ts and client.ts have no Node imports (they run in browsers);
 * keys.ts is the Node edge (PEM keys, key generation, hashing files).
 */
export type { ArtifactSigner, Signed, SignOptions } from './client.ts';
export { ENTRIES_PATH, keyHint, signAndLog } from './client.ts';
export type { LogKey, Signature, VerifiedEntry } from './entry.ts';
export {
  BUNDLE_MEDIA_TYPE,
  bundleJson,
  checkLogEntry,
  createEntryRequest,
  expectedBody,
  openCheckpoint,
  tlogEntryJson,
} from './entry.ts';
export type { SigningKeyPair } from './keys.ts';
export {
  generateSigningKey,
  hashFile,
  keyDetailsOf,
  parseSigningKey,
  signerFromKey,
} from './keys.ts';
export { logKeyFromVkey, logKeysFromTrustedRoot, trimUrl } from './trust.ts';
