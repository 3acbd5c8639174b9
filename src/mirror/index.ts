/** A C2SP tlog-mirror: the mirror server's state and protocol, and the log side that pushes. */
export type { AddEntriesHeader, EntryPackage, MirrorInfo, PackageRange, Parser } from './body.ts';
export {
  formatHeader,
  formatMirrorInfo,
  formatPackage,
  MAX_PACKAGE_PROOF,
  MIRROR_INFO_TYPE,
  PACKAGE_WIDTH,
  packageRanges,
  parseAll,
  parseHeader,
  parseMirrorInfo,
  parsePackage,
} from './body.ts';
export type { MirroredLog } from './config.ts';
export { parseMirrorConfig } from './config.ts';
export type { Signed } from './copy.ts';
export { MARKER, MirrorCopy, NEXT_KEY, PENDING_KEPT, PENDING_KEY, rangeHash } from './copy.ts';
export type { MirrorAnswer, MirrorOutcome } from './mirror.ts';
export { MAX_EXCESS, Mirror } from './mirror.ts';
export type { MirrorPushEvents, MirrorPushOptions, PushSource } from './push.ts';
export { MirrorPush, pushToMirrors } from './push.ts';
export { ByteReader, runParser } from './stream.ts';
