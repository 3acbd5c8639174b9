/** C2SP signed-note and tlog-checkpoint: keys, signing, strict opening, checkpoint bodies. */
export type { Checkpoint } from './checkpoint.ts';
export {
  formatCheckpoint,
  parseCheckpoint,
  parseDecimalSize,
  peekCheckpoint,
} from './checkpoint.ts';
export type { CosignatureVerifier, Cosigner } from './cosignature.ts';
export {
  ALG_COSIGNATURE_V1,
  ALG_MLDSA44,
  cosignatureTimestamp,
  cosignerFromKey,
  generateCosignerSecret,
  parseCosignerKey,
  parseCosignerSecret,
} from './cosignature.ts';
export type { NoteSigner, NoteVerifier, Signer } from './keys.ts';
export {
  ALG_ED25519,
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
export { NoteError, openNote, signNoteWith, splitNote } from './note.ts';
