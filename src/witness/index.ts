/** A C2SP tlog-witness: cosigns checkpoints consistent with what it has seen. */
export type { Cosigned, Prover, WitnessEvents, WitnessFailure, WitnessingOptions } from './ask.ts';
export { Witnessing } from './ask.ts';
export { parseWitnessConfig } from './config.ts';
export type { Policy, PolicyWitness } from './policy.ts';
export { parsePolicy, parseWitnessKey, quorumMet } from './policy.ts';
export type { WitnessAnswer, WitnessedLog, WitnessOutcome } from './witness.ts';
export { parseRequest, Witness } from './witness.ts';
