/** Keys in PKCS#11 tokens, named by RFC 7512 URIs: opening, signing with recovery, keygen. */
export type { KeyOptions } from './key.ts';
export { generateEd25519, generateP256, Pkcs11Key } from './key.ts';
export { isPkcs11Uri } from './uri.ts';
