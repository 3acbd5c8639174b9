/**
 * The one file that talks to the pkcs11js binding: loading a PKCS#11 module (once per process and
 * path, since C_Initialize is process-wide), finding a token and an object, reading attributes,
 * signing and generating key pairs. Every call into the module is serialized per module: a
 * module may be finalized and initialized again to recover a lost token, which must not happen
 * while another call is in flight on one of libuv's threads.
 */
import pkcs11js from 'pkcs11js';

import { LogError } from '../errors.ts';

/** Handle is a PKCS#11 handle as pkcs11js passes it. */
export type Handle = Buffer;

/** The PKCS#11 v3 numbers pkcs11js 2.1 does not name (PKCS#11 v3.0 §6.3, §2.3.5). */
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
export const CKK_EC_EDWARDS = 0x40;
/** CKM_EC_KEY_PAIR_GEN, CKM_ECDSA and CKK_EC: ECDSA keys (PKCS#11 v3.0 §6.3.3, §6.3.5). */
export const CKM_EC_KEY_PAIR_GEN = 0x1040;
export const CKM_ECDSA = 0x1041;
export const CKK_EC = 0x3;
export const CKO_PRIVATE_KEY = pkcs11js.CKO_PRIVATE_KEY;
export const CKO_PUBLIC_KEY = pkcs11js.CKO_PUBLIC_KEY;
export const A = {
  CLASS: pkcs11js.CKA_CLASS,
  TOKEN: pkcs11js.CKA_TOKEN,
  PRIVATE: pkcs11js.CKA_PRIVATE,
  LABEL: pkcs11js.CKA_LABEL,
  ID: pkcs11js.CKA_ID,
  KEY_TYPE: pkcs11js.CKA_KEY_TYPE,
  SENSITIVE: pkcs11js.CKA_SENSITIVE,
  EXTRACTABLE: pkcs11js.CKA_EXTRACTABLE,
  SIGN: pkcs11js.CKA_SIGN,
  VERIFY: pkcs11js.CKA_VERIFY,
  EC_PARAMS: pkcs11js.CKA_EC_PARAMS,
  EC_POINT: pkcs11js.CKA_EC_POINT,
} as const;

/** Attribute is one template entry: a CKA_ number and its value. */
export interface Attribute {
  readonly type: number;
  readonly value?: number | boolean | string | Buffer;
}

/** TokenInfo is what identifies a token (C_GetTokenInfo), blank padding removed. */
export interface TokenInfo {
  readonly slot: Handle;
  readonly slotId: bigint;
  readonly label: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serial: string;
  readonly loginRequired: boolean;
}

/** ckrCode returns the CKR_ return value of a failed call, or undefined for other errors. */
export function ckrCode(err: unknown): number | undefined {
  return err instanceof pkcs11js.Pkcs11Error ? err.code : undefined;
}

/** ckrName returns a failed call's CKR_ name (the binding's message), for one-line errors. */
export function ckrName(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

const CKR_USER_ALREADY_LOGGED_IN = 0x100;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
const CKF_LOGIN_REQUIRED = 4;

/**
 * Module is one loaded PKCS#11 library. generation counts its initializations: a session opened
 * in an earlier generation is gone.
 */
export class Module {
  readonly path: string;
  private readonly lib: pkcs11js.PKCS11;
  private queue: Promise<unknown> = Promise.resolve();
  generation = 0;
  initialized = false;

  private constructor(path: string, lib: pkcs11js.PKCS11) {
    this.path = path;
    this.lib = lib;
  }

  private static readonly loaded = new Map<string, Module>();

  /** load returns the process's Module for path, loading it once; it throws bad_request. */
  static load(path: string): Module {
    const have = Module.loaded.get(path);
    if (have) return have;
    const lib = new pkcs11js.PKCS11();
    try {
      lib.load(path);
    } catch (err) {
      throw new LogError('bad_request', `pkcs11: cannot load module-path ${path}`, { cause: err });
    }
    const m = new Module(path, lib);
    Module.loaded.set(path, m);
    return m;
  }

  /** serial runs f after every call queued before it on this module. */
  serial<T>(f: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** initialize makes sure the module is initialized; reset finalizes it first (recovery). */
  initialize(reset = false): void {
    if (this.initialized && !reset) return;
    if (this.initialized) {
      this.initialized = false;
      try {
        this.lib.C_Finalize();
      } catch {
        // A module that lost its token may refuse to finalize; initializing is what matters.
      }
    }
    try {
      this.lib.C_Initialize();
    } catch (err) {
      if (ckrCode(err) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
    }
    this.initialized = true;
    this.generation++;
  }

  /** tokens lists the tokens present. */
  tokens(): TokenInfo[] {
    return this.lib.C_GetSlotList(true).map((slot) => {
      const t = this.lib.C_GetTokenInfo(slot);
      return {
        slot,
        slotId: slot.readBigUInt64LE(0),
        label: t.label.trimEnd(),
        manufacturer: t.manufacturerID.trimEnd(),
        model: t.model.trimEnd(),
        serial: t.serialNumber.trimEnd(),
        loginRequired: (t.flags & CKF_LOGIN_REQUIRED) !== 0,
      };
    });
  }

  /** openSession opens a read-write session on slot and logs in with pin when given. */
  openSession(slot: Handle, pin: string | undefined): Handle {
    const s = this.lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    if (pin === undefined) return s;
    try {
      this.lib.C_Login(s, pkcs11js.CKU_USER, pin);
    } catch (err) {
      // Logins are per application and token: another key's session may have logged in.
      if (ckrCode(err) !== CKR_USER_ALREADY_LOGGED_IN) {
        this.closeSession(s);
        throw err;
      }
    }
    return s;
  }

  /** closeSession closes a session, ignoring a session that is already gone. */
  closeSession(s: Handle): void {
    try {
      this.lib.C_CloseSession(s);
    } catch {
      // Closed already (the token went away, or the module was finalized).
    }
  }

  /** find returns the handles of the objects matching template (at most 16). */
  find(s: Handle, template: Attribute[]): Handle[] {
    this.lib.C_FindObjectsInit(s, template as pkcs11js.Template);
    try {
      return this.lib.C_FindObjects(s, 16);
    } finally {
      this.lib.C_FindObjectsFinal(s);
    }
  }

  /** attribute reads one attribute's value. */
  attribute(s: Handle, object: Handle, type: number): Buffer {
    const [a] = this.lib.C_GetAttributeValue(s, object, [{ type }]);
    return a!.value as Buffer;
  }

  /**
   * sign signs data with key and mechanism on one of libuv's threads (C_SignAsync), so the
   * event loop runs while the token works.
   */
  sign(s: Handle, key: Handle, mechanism: number, data: Uint8Array, size: number): Promise<Buffer> {
    this.lib.C_SignInit(s, { mechanism }, key);
    return this.lib.C_SignAsync(s, Buffer.from(data), Buffer.alloc(size));
  }

  /** generateKeyPair makes a key pair in the token and returns the handles. */
  generateKeyPair(
    s: Handle,
    mechanism: number,
    pub: Attribute[],
    priv: Attribute[],
  ): { publicKey: Handle; privateKey: Handle } {
    return this.lib.C_GenerateKeyPair(
      s,
      { mechanism },
      pub as pkcs11js.Template,
      priv as pkcs11js.Template,
    );
  }
}
