/** A C2SP tlog-witness: cosigns checkpoints consistent with what it has seen. */
export { Witness, parseRequest } from './witness.ts';
export type { WitnessAnswer, WitnessedLog } from './witness.ts';
export { parseWitnessConfig } from './config.ts';
export { parsePolicy, quorumMet } from './policy.ts';
export type { Policy, PolicyWitness } from './policy.ts';
export { Witnessing } from './ask.ts';
export type { Cosigned, Prover, WitnessingOptions } from './ask.ts';
