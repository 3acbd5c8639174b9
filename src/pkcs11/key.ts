/**
 * An Ed25519 (or ECDSA P-256) private key in a PKCS#11 token, opened once by URI and used for as long as the
 * process runs. Sessions survive: a sign that fails because the session, the login or the token
 * went away re-opens them (finalizing and initializing the module again if need be) and tries
 * again with back-off, for up to retryForMs, signing the very same message; so a commit waits for
 * the token instead of being dropped, and a tree size is never signed with other contents.
 * Failures are classified like storage errors: LogError 'unavailable' (the token did not come
 * back in time: retry later, 503) or 'fatal' (a wrong PIN, the key gone from a token that is
 * there, another key under the URI, a refused mechanism: an operator must act). A fatal failure
 * sticks: the key never touches the token again (another login with a wrong PIN would lock it),
 * every later sign fails with the same error, and failure says why until the process restarts.
 */
import { equal } from '../bytes.ts';
import { LogError } from '../errors.ts';
import { A, ckrCode, ckrName, type Handle } from './module.ts';
import {
  findKeyPair,
  type KeyKind,
  type KeyPair,
  KIND,
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
  /** kind is the kind of key the URI must name (default 'ed25519'). */
  readonly kind?: KeyKind;
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

/** Pkcs11Key signs with one key in a token; see above. */
export class Pkcs11Key {
  /** publicKey is the raw public key: 32 bytes (Ed25519) or an uncompressed point (P-256). */
  readonly publicKey: Uint8Array;
  readonly kind: KeyKind;
  /** label is the token's label, for messages. */
  readonly label: string;
  private readonly target: Target;
  private readonly opts: KeyOptions;
  private opened: (Opened & { key: Handle; generation: number }) | undefined;
  private closed = false;
  private fatal: LogError | undefined;

  private constructor(target: Target, opened: Opened, pair: KeyPair, opts: KeyOptions) {
    this.target = target;
    this.opts = opts;
    this.kind = opts.kind ?? 'ed25519';
    this.publicKey = pair.publicKey;
    this.label = opened.info.label;
    this.opened = { ...opened, key: pair.privateKey, generation: target.module.generation };
  }

  /**
   * open finds the key (of opts.kind, default Ed25519) a PKCS#11 URI names, logged in. Bad input (an unparseable URI, a
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
        try {
          const pair = findKeyPair(target, o, opts.kind);
          if (!pair)
            throw new TokenFailure(
              'refused',
              `pkcs11: no key ${target.object} in token ${o.info.label}`,
            );
          return new Pkcs11Key(target, o, pair, opts);
        } catch (err) {
          // Close the session: the last one closed logs the application out (PKCS#11 §5.6).
          target.module.closeSession(o.session);
          throw err;
        }
      } catch (err) {
        throw bad(err);
      }
    });
  }

  /**
   * sign signs message: an Ed25519 key with pure Ed25519 (CKM_EDDSA), a P-256 key with
   * CKM_ECDSA, for which message is the digest and the signature is r || s (32 bytes each,
   * PKCS#11 v3.0 §2.3.1). See above for how it fails.
   */
  sign(message: Uint8Array): Promise<Uint8Array> {
    return this.target.module.serial(() => this.signWithRetry(message));
  }

  /** failure is the one line of the fatal failure that stopped this key, or null. */
  get failure(): string | null {
    return this.fatal?.message ?? null;
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
        if (this.fatal) throw this.fatal;
        if (this.closed) throw new LogError('unavailable', 'pkcs11: key closed');
        const o = this.reopen(attempt > 1);
        return new Uint8Array(
          await this.target.module.sign(o.session, o.key, KIND[this.kind].sign, message, 64),
        );
      } catch (err) {
        const lost =
          err instanceof TokenFailure ? err.kind === 'absent' : LOST.has(ckrCode(err) ?? -1);
        const why =
          err instanceof TokenFailure
            ? err.message
            : `pkcs11: token ${this.label}: ${err instanceof Error ? err.message : String(err)}`;
        if (err instanceof LogError) {
          if (err.code === 'fatal') this.stop(err);
          throw err;
        }
        if (!lost) throw this.stop(new LogError('fatal', why, { cause: err }));
        this.drop();
        if (this.closed || Date.now() + wait > deadline)
          throw new LogError('unavailable', why, { cause: err });
        this.opts.onRetry?.(why);
        await sleep(wait);
      }
    }
  }

  // stop makes a fatal failure stick (see above) and returns it.
  private stop(err: LogError): LogError {
    this.fatal ??= err;
    this.drop();
    return this.fatal;
  }

  // reopen returns the open session, opening a new one (and, with reset, initializing the
  // module again) when it is gone; the key found must be the one first opened. A token that is
  // there and takes the PIN but no longer holds the key had it deleted: that is fatal.
  private reopen(reset: boolean): Opened & { key: Handle } {
    const m = this.target.module;
    if (this.opened && this.opened.generation === m.generation && !reset) return this.opened;
    this.drop();
    const o = openToken(this.target, reset);
    let pair: KeyPair | null;
    try {
      pair = findKeyPair(this.target, o, this.kind);
    } catch (err) {
      m.closeSession(o.session);
      throw err;
    }
    if (!pair) {
      m.closeSession(o.session);
      throw new LogError(
        'fatal',
        `pkcs11: token ${o.info.label} no longer holds ${this.target.object}`,
      );
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
  return generateKey(uri, 'ed25519', env);
}

/** generateP256 is generateEd25519 for an ECDSA P-256 key (CKM_EC_KEY_PAIR_GEN), for signing. */
export function generateP256(
  uri: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ publicKey: Uint8Array; created: boolean }> {
  return generateKey(uri, 'p256', env);
}

function generateKey(
  uri: string,
  kind: KeyKind,
  env: NodeJS.ProcessEnv,
): Promise<{ publicKey: Uint8Array; created: boolean }> {
  const k = KIND[kind];
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
      const have = findKeyPair(target, o, kind);
      if (have) return { publicKey: have.publicKey, created: false };
      const common = [
        { type: A.TOKEN, value: true },
        ...(target.label !== undefined ? [{ type: A.LABEL, value: target.label }] : []),
        ...(target.id !== undefined ? [{ type: A.ID, value: Buffer.from(target.id) }] : []),
      ];
      target.module.generateKeyPair(
        o.session,
        k.generate,
        [...common, { type: A.VERIFY, value: true }, { type: A.EC_PARAMS, value: k.params[0] }],
        [
          ...common,
          { type: A.PRIVATE, value: true },
          { type: A.SENSITIVE, value: true },
          { type: A.EXTRACTABLE, value: false },
          { type: A.SIGN, value: true },
          { type: A.KEY_TYPE, value: k.keyType },
        ],
      );
      const made = findKeyPair(target, o, kind);
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
