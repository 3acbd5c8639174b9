/** The log explorer's pure decoding, shared with the server's entry endpoint (api/entries.ts). */
export type { CertInfo } from './certinfo.ts';
export type { DecodedEntry, DecodedVerifier } from './decode.ts';
export { decodeEntry } from './decode.ts';
