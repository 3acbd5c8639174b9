/** A C2SP tlog-witness: cosigns checkpoints consistent with what it has seen. */
export type { Cosigned, Prover, WitnessEvents, WitnessFailure, WitnessingOptions } from './ask.ts';
export { Witnessing } from './ask.ts';
export type { WitnessConfig } from './config.ts';
export { parseLogKey, parseWitnessConfig } from './config.ts';
export type { LogListEvents, LogListOptions } from './loglist.ts';
export { LogList } from './loglist.ts';
export type { Policy, PolicyWitness } from './policy.ts';
export { parsePolicy, parseWitnessKey, quorumMet } from './policy.ts';
export type { AddCheckpointRequest, SubtreeRequest } from './request.ts';
export {
  formatSubtreeRequest,
  MAX_PROOF_LINES,
  parseRequest,
  parseSubtreeRequest,
} from './request.ts';
export type { WitnessAnswer, WitnessedLog, WitnessOutcome } from './witness.ts';
export type { Recorded, SubtreeCosigning } from './witness.ts';
export {
  answerSignSubtree,
  checkAgainst,
  openLogCheckpoint,
  originHash,
  Witness,
} from './witness.ts';
