/** Verification that runs anywhere (no Node imports): Sigstore bundles against a trusted root. */
export type { BundleVerification } from './bundle.ts';
export { NOT_CHECKED, verifyBundle } from './bundle.ts';
export { certificateSpki } from './der.ts';
