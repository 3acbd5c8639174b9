/** The log explorer's pure decoding, shared with the server's entry endpoint (api/entries.ts). */
export { decodeEntry } from './decode.ts';
