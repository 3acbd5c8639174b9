// The SoftHSM2 token the global setup (test/setup/softhsm.ts) made, and URIs of keys in it.
import { randomBytes } from 'node:crypto';

export const MODULE = process.env.TILELOG_TEST_PKCS11_MODULE!;
export const TOKEN = process.env.TILELOG_TEST_PKCS11_TOKEN!;
export const PIN = process.env.TILELOG_TEST_PKCS11_PIN!;

/** label returns a fresh object label, so that test files sharing the token never collide. */
export function label(what: string): string {
  return `${what}-${randomBytes(4).toString('hex')}`;
}

/** keyUri names an object in the test token, with the module and (by default) the PIN. */
export function keyUri(object: string, query = `&pin-value=${PIN}`, token = TOKEN): string {
  return `pkcs11:token=${token};object=${object}?module-path=${MODULE}${query}`;
}
