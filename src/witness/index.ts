/** A C2SP tlog-witness: cosigns checkpoints consistent with what it has seen. */
export type { WitnessEvents } from './ask.ts';
export { DEFAULT_WITNESS_TIMEOUT_MS, Witnessing } from './ask.ts';
export type { WitnessConfig } from './config.ts';
export { parseWitnessConfig } from './config.ts';
export type { LogListEvents } from './loglist.ts';
export { LogList } from './loglist.ts';
export type { Policy, PolicyWitness } from './policy.ts';
export { parsePolicy } from './policy.ts';
export type { WitnessAnswer, WitnessedLog, WitnessOutcome } from './witness.ts';
export type { Recorded } from './witness.ts';
export {
  answerSignSubtree,
  checkAgainst,
  openAddCheckpoint,
  originHash,
  Witness,
} from './witness.ts';
