/**
 * The witness configuration file, and the log list the witness polls: one line per witnessed
 * log, `log <origin> <vkey> [<vkey>…]`, with blank lines and `#` comments allowed. Verifier keys
 * are signed-note keys (Ed25519, or ECDSA on Node) or ML-DSA-44 cosigner keys (type 0x06), as
 * tlog-checkpoint asks logs to sign with; a log's key name need not equal its origin, but usually
 * does.
 */
import { fromBase64 } from '../bytes.ts';
import { badRequest } from '../errors.ts';
import {
  ALG_MLDSA44,
  type NoteVerifier,
  parseCosignerKey,
  parseVerifierKey,
} from '../note/index.ts';
import type { WitnessedLog } from './witness.ts';

/** parseLogKey parses a log's verifier key: a note key, or an ML-DSA-44 cosigner key. */
export function parseLogKey(vkey: string): NoteVerifier {
  // name+hash+base64: the base64 may itself contain '+'.
  const typed = fromBase64(/^[^+\s]+\+[0-9a-f]{8}\+(.+)$/.exec(vkey)?.[1] ?? '');
  return typed?.[0] === ALG_MLDSA44 ? parseCosignerKey(vkey) : parseVerifierKey(vkey);
}

/**
 * parseWitnessConfig parses the config text strictly, naming the line of any error. A config
 * must list a log; a polled log list (allowEmpty) may list none.
 */
export function parseWitnessConfig(
  text: string,
  opts: { allowEmpty?: boolean } = {},
): WitnessedLog[] {
  const logs: WitnessedLog[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [word, origin, ...keys] = line.split(/\s+/);
    if (word !== 'log' || !origin || keys.length === 0)
      throw badRequest(`witness config line ${i + 1}: want "log <origin> <vkey>…"`);
    if (logs.some((l) => l.origin === origin))
      throw badRequest(`witness config line ${i + 1}: origin ${origin} listed twice`);
    try {
      logs.push({ origin, verifiers: keys.map(parseLogKey) });
    } catch (err) {
      throw badRequest(`witness config line ${i + 1}: ${err instanceof Error ? err.message : err}`);
    }
  });
  if (logs.length === 0 && !opts.allowEmpty) throw badRequest('witness config lists no logs');
  return logs;
}

/** WitnessConfig is everything `tilelog witness` needs; the names are its flags'. */
export interface WitnessConfig {
  /** config: fixed logs; logList: logs (file or URL) polled every logListInterval s (60). */
  readonly config?: string;
  readonly logList?: string;
  readonly logListInterval?: number;
  /** key is the witness key file written by `tilelog keygen --witness`, or a PKCS#11 URI. */
  readonly key: string;
  /** name is the witness's key name, needed with a PKCS#11 key (a file names its keys). */
  readonly name?: string;
  /** mldsaKey is an ML-DSA-44 cosigner key file to cosign with as well (a token key is Ed25519). */
  readonly mldsaKey?: string;
  readonly data: string;
  readonly listen: string;
  readonly prefix: string;
  /** bastion (HOST:PORT), bastionKey (default data/bastion.key) and bastionCa: https-bastion. */
  readonly bastion?: string;
  readonly bastionKey?: string;
  readonly bastionCa?: string;
}
