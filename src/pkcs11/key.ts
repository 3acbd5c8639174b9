/**
 * An Ed25519 private key in a PKCS#11 token, opened once by URI and used for as long as the
 * process runs. Sessions survive: a sign that fails because the session, the login or the token
 * went away re-opens them (finalizing and initializing the module again if need be) and tries
 * again with back-off, for up to retryForMs, signing the very same message; so a commit waits for
 * the token instead of being dropped, and a tree size is never signed with other contents.
 * Failures are classified like storage errors: LogError 'unavailable' (the token did not come
 * back in time: retry later, 503) or 'fatal' (a wrong PIN, another key under the URI, a refused
 * mechanism: an operator must act).
 */
import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import {
  A,
  CKK_EC_EDWARDS,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EDDSA,
  ckrCode,
  ckrName,
  type Handle,
} from './module.ts';
import {
  findKeyPair,
  type KeyPair,
  type Opened,
  openToken,
  resolveTarget,
  type Target,
  TokenFailure,
} from './token.ts';

/** KeyOptions tunes how a key waits for its token. */
export interface KeyOptions {
  /** env supplies TILELOG_PKCS11_PIN when the URI names no PIN (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** retryForMs is how long sign keeps re-opening a lost token (default 30,000). */
  readonly retryForMs?: number;
  /** onRetry sees each failed attempt that will be retried (logs, metrics). */
  readonly onRetry?: (reason: string) => void;
}

// CKR_ values after which re-opening may help: the session, login, object handle or token is
// gone, or the device failed (PKCS#11 v3.0 §5.1). Anything else is a refusal.
const LOST = new Set([
  0x03, 0x05, 0x06, 0x30, 0x31, 0x32, 0x60, 0x82, 0x90, 0x91, 0xb0, 0xb1, 0xb3, 0xe0, 0xe1, 0x101,
  0x190,
]);

function bad(err: unknown): LogError {
  if (err instanceof LogError) return err;
  return new LogError('bad_request', err instanceof Error ? err.message : String(err), {
    cause: err,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pkcs11Key signs with one Ed25519 key in a token; see above. */
export class Pkcs11Key {
  readonly publicKey: Uint8Array;
  /** label is the token's label, for messages. */
  readonly label: string;
  private readonly target: Target;
  private readonly opts: KeyOptions;
  private opened: (Opened & { key: Handle; generation: number }) | undefined;
  private closed = false;

  private constructor(target: Target, opened: Opened, pair: KeyPair, opts: KeyOptions) {
    this.target = target;
    this.opts = opts;
    this.publicKey = pair.publicKey;
    this.label = opened.info.label;
    this.opened = { ...opened, key: pair.privateKey, generation: target.module.generation };
  }

  /**
   * open finds the Ed25519 key a PKCS#11 URI names, logged in. Bad input (an unparseable URI, a
   * missing module, an unknown token or label, a wrong PIN, another key type) throws a
   * bad_request LogError whose one line says which.
   */
  static open(uri: string, opts: KeyOptions = {}): Promise<Pkcs11Key> {
    let target: Target;
    try {
      target = resolveTarget(uri, opts.env ?? process.env);
    } catch (err) {
      return Promise.reject(bad(err));
    }
    return target.module.serial(() => {
      try {
        const o = openToken(target);
        const pair = findKeyPair(target, o);
        if (!pair)
          throw new TokenFailure(
            'refused',
            `pkcs11: no key ${target.object} in token ${o.info.label}`,
          );
        return new Pkcs11Key(target, o, pair, opts);
      } catch (err) {
        throw bad(err);
      }
    });
  }

  /** sign signs message with pure Ed25519 (CKM_EDDSA); see above for how it fails. */
  sign(message: Uint8Array): Promise<Uint8Array> {
    return this.target.module.serial(() => this.signWithRetry(message));
  }

  /** close ends the session; a sign waiting for the token fails with 'unavailable'. */
  async close(): Promise<void> {
    this.closed = true;
    await this.target.module.serial(() => this.drop());
  }

  private async signWithRetry(message: Uint8Array): Promise<Uint8Array> {
    const deadline = Date.now() + (this.opts.retryForMs ?? 30_000);
    for (let attempt = 0, wait = 20; ; attempt++, wait = Math.min(wait * 2, 1000)) {
      try {
        if (this.closed) throw new LogError('unavailable', 'pkcs11: key closed');
        const o = this.reopen(attempt > 1);
        return new Uint8Array(
          await this.target.module.sign(o.session, o.key, CKM_EDDSA, message, 64),
        );
      } catch (err) {
        const lost =
          err instanceof TokenFailure ? err.kind === 'absent' : LOST.has(ckrCode(err) ?? -1);
        const why = `pkcs11: token ${this.label}: ${err instanceof Error ? err.message : String(err)}`;
        if (err instanceof LogError) throw err;
        if (!lost) throw new LogError('fatal', why, { cause: err });
        this.drop();
        if (this.closed || Date.now() + wait > deadline)
          throw new LogError('unavailable', why, { cause: err });
        this.opts.onRetry?.(why);
        await sleep(wait);
      }
    }
  }

  // reopen returns the open session, opening a new one (and, with reset, initializing the
  // module again) when it is gone; the key found must be the one first opened.
  private reopen(reset: boolean): Opened & { key: Handle } {
    const m = this.target.module;
    if (this.opened && this.opened.generation === m.generation && !reset) return this.opened;
    this.drop();
    const o = openToken(this.target, reset);
    const pair = findKeyPair(this.target, o);
    if (!pair) {
      m.closeSession(o.session);
      throw new TokenFailure('absent', `no key ${this.target.object}`);
    }
    if (!equal(pair.publicKey, this.publicKey)) {
      m.closeSession(o.session);
      throw new LogError(
        'fatal',
        `pkcs11: ${this.target.object} in token ${o.info.label} is now another key`,
      );
    }
    this.opened = { ...o, key: pair.privateKey, generation: m.generation };
    return this.opened;
  }

  private drop(): void {
    if (this.opened && this.opened.generation === this.target.module.generation)
      this.target.module.closeSession(this.opened.session);
    this.opened = undefined;
  }
}

/**
 * generateEd25519 makes the Ed25519 key pair a URI names inside its token (CKM_EC_EDWARDS_KEY_PAIR_GEN),
 * the private key sensitive and not extractable, labelled and identified as the URI says; when
 * the URI already names a key it makes nothing. It returns the public key and whether it made it.
 */
export function generateEd25519(
  uri: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ publicKey: Uint8Array; created: boolean }> {
  let target: Target;
  try {
    target = resolveTarget(uri, env);
  } catch (err) {
    return Promise.reject(bad(err));
  }
  return target.module.serial(() => {
    let o: Opened | undefined;
    try {
      o = openToken(target);
      const have = findKeyPair(target, o);
      if (have) return { publicKey: have.publicKey, created: false };
      const common = [
        { type: A.TOKEN, value: true },
        ...(target.label !== undefined ? [{ type: A.LABEL, value: target.label }] : []),
        ...(target.id !== undefined ? [{ type: A.ID, value: Buffer.from(target.id) }] : []),
      ];
      target.module.generateKeyPair(
        o.session,
        CKM_EC_EDWARDS_KEY_PAIR_GEN,
        [
          ...common,
          { type: A.VERIFY, value: true },
          { type: A.EC_PARAMS, value: Buffer.from('06032b6570', 'hex') },
        ],
        [
          ...common,
          { type: A.PRIVATE, value: true },
          { type: A.SENSITIVE, value: true },
          { type: A.EXTRACTABLE, value: false },
          { type: A.SIGN, value: true },
          { type: A.KEY_TYPE, value: CKK_EC_EDWARDS },
        ],
      );
      const made = findKeyPair(target, o);
      if (!made)
        throw new TokenFailure('refused', `pkcs11: the new key ${target.object} is not found`);
      return { publicKey: made.publicKey, created: true };
    } catch (err) {
      if (err instanceof TokenFailure || err instanceof LogError) throw bad(err);
      throw new LogError(
        'bad_request',
        `pkcs11: generating ${target.object} failed (${ckrName(err)})`,
        { cause: err },
      );
    } finally {
      if (o) target.module.closeSession(o.session);
    }
  });
}
