/**
 * The witness configuration file: one line per witnessed log, `log <origin> <vkey> [<vkey>…]`,
 * with blank lines and `#` comments allowed. Verifier keys are signed-note keys (Ed25519, or
 * ECDSA on Node); a log's key name need not equal its origin, but usually does.
 */
import { badRequest } from '../errors.ts';
import { parseVerifierKey } from '../note/index.ts';
import type { WitnessedLog } from './witness.ts';

/** parseWitnessConfig parses the config text strictly, naming the line of any error. */
export function parseWitnessConfig(text: string): WitnessedLog[] {
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
      logs.push({ origin, verifiers: keys.map(parseVerifierKey) });
    } catch (err) {
      throw badRequest(`witness config line ${i + 1}: ${err instanceof Error ? err.message : err}`);
    }
  });
  if (logs.length === 0) throw badRequest('witness config lists no logs');
  return logs;
}
