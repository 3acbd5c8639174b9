/** The Rekor v2 personality: what a valid submission is, and the leaf bytes it becomes. */
import { badRequest } from '../errors.ts';
import { admitDsse } from './dsse.ts';
import { admitHashedRekord, type AdmitOptions, type Admitted } from './hashedrekord.ts';
import { asObject } from './protojson.ts';

export type { HashAlgorithm, KeyDetails } from './algorithms.ts';
export { ALGORITHMS, ed25519phDigest, KEY_DETAILS, SHA256_DIGEST_INFO } from './algorithms.ts';
export type { AdmitOptions, Admitted } from './hashedrekord.ts';
export { AdmissionPool } from './pool.ts';
export { parseJson } from './protojson.ts';

/**
 * admitCreateEntry parses a CreateEntryRequest (protojson) and admits its one spec, dispatching
 * on the oneof field that is set.
 */
export function admitCreateEntry(json: unknown, opts: AdmitOptions): Admitted {
  const o = asObject(json, 'request');
  const keys = Object.keys(o).filter((k) => o[k] !== null);
  if (keys.length !== 1)
    throw badRequest('request needs exactly one of hashedRekordRequestV002 and dsseRequestV002');
  const [key] = keys as [string];
  switch (key) {
    case 'hashedRekordRequestV002':
    case 'hashed_rekord_request_v002':
      return admitHashedRekord(o[key], opts);
    case 'dsseRequestV002':
    case 'dsse_request_v002':
      if (opts.acceptDsse) return admitDsse(o[key], opts);
      throw badRequest(
        'dsse entries are not accepted by this log (log a DSSE envelope as hashedrekord of its PAE)',
      );
    default:
      throw badRequest(`request: unknown field ${JSON.stringify(key.slice(0, 60))}`);
  }
}
export type { LogTrust, TrustDocuments } from './trust.ts';
export { defaultOperator, endLog, PROPAGATION_MS, trustDocuments } from './trust.ts';
