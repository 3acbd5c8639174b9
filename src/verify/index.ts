/** Verification that runs anywhere (no Node imports): Sigstore bundles against a trusted root. */
export { pae } from './body.ts';
export type { BundleVerification } from './bundle.ts';
export type { VerifyOptions } from './bundle.ts';
export { NOT_CHECKED, verifyBundle } from './bundle.ts';
export { DerError, dottedOid } from './der.ts';
export type { TrustedLog } from './trusted.ts';
export { trustedLogs } from './trusted.ts';
export type { EcCurveName, ParsedCertificate, SpkiKey } from './x509.ts';
export { certificateSpki, parseCertificate, parseSpki } from './x509.ts';
