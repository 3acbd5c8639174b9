/**
 * The mirror's configuration: the witness's `log <origin> <vkey>…` lines (src/witness config),
 * with one more requirement: a mirrored log must have a signed-note key (Ed25519, or ECDSA), the
 * kind of key its tlog-tiles checkpoint is served under and the copy's lock is opened with.
 */
import { badRequest } from '../errors.ts';
import { parseVerifierKey } from '../note/index.ts';
import { parseWitnessConfig, type WitnessedLog } from '../witness/index.ts';

/** MirroredLog is a configured log: its keys, and the note key its copy is served under. */
export interface MirroredLog extends WitnessedLog {
  /** noteKey is the first signed-note verifier key of the log's line. */
  readonly noteKey: string;
}

/** parseMirrorConfig parses the mirror config strictly, naming the line of any error. */
export function parseMirrorConfig(text: string): MirroredLog[] {
  const logs = parseWitnessConfig(text);
  const lines = text.split('\n');
  return logs.map((log) => {
    const i = lines.findIndex((l) => l.trim().split(/\s+/)[1] === log.origin);
    const keys = lines[i]!.trim().split(/\s+/).slice(2);
    const noteKey = keys.find((k) => {
      try {
        parseVerifierKey(k);
        return true;
      } catch {
        return false;
      }
    });
    if (!noteKey)
      throw badRequest(`mirror config line ${i + 1}: ${log.origin} has no signed-note key`);
    return { ...log, noteKey };
  });
}
