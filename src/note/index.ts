/** C2SP signed-note and tlog-checkpoint: keys, signing, strict opening, checkpoint bodies. */
export type { Checkpoint } from './checkpoint.ts';
export {
  formatCheckpoint,
  parseCheckpoint,
  parseDecimalSize,
  peekCheckpoint,
} from './checkpoint.ts';
export type { CosignatureVerifier, Cosigner, SeedCosigner } from './cosignature.ts';
export {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  cosignatureTimestamp,
  cosignedMessage,
  cosignerFromKey,
  cosignerFromSeed,
  formatCosignerSecret,
  generateCosignerSecret,
  parseCosignerKey,
  parseCosignerSecret,
  subtreeMessage,
} from './cosignature.ts';
export type { Ed25519Key, NoteSigner, NoteVerifier, Signer } from './keys.ts';
export {
  ALG_ED25519,
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  isValidKeyName,
  keyHashHex,
  keyId,
  keySigner,
  parseSignerKey,
  parseVerifierKey,
  readKeyHash,
} from './keys.ts';
export type { Note, NoteFailure, Signature } from './note.ts';
export { MAX_SIGNATURES, NoteError, openNote, signNote, signNoteWith, splitNote } from './note.ts';
