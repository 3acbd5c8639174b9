/** A C2SP tlog-mirror: the mirror server's state and protocol, and the log side that pushes. */
export { parseMirrorConfig } from './config.ts';
export { MirrorCopy } from './copy.ts';
export type { MirrorAnswer, MirrorEvents, MirrorOutcome } from './mirror.ts';
export { Mirror } from './mirror.ts';
export { pushToMirrors } from './push.ts';
export { ByteReader } from './stream.ts';
