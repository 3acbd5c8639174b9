/**
 * C2SP tlog-policy files: `log <vkey> [url]`, `witness <name> <vkey> [url]`,
 * `group <name> <k|any|all> <member>…` and `quorum <name|none>`, with `#` comments. A policy says
 * which witnesses to ask and when their cosignatures are enough.
 */
import { concat, fromBase64, toBase64, toHex } from '../bytes.ts';
import { badRequest } from '../errors.ts';
import {
  ALG_COSIGNATURE_V1,
  ALG_ED25519,
  type CosignatureVerifier,
  keyId,
  parseCosignerKey,
  parseVerifierKey,
} from '../note/index.ts';

/** PolicyWitness is a witness a log asks for cosignatures. */
export interface PolicyWitness {
  readonly name: string;
  readonly verifier: CosignatureVerifier;
  readonly url?: string;
}

interface Group {
  readonly threshold: number;
  readonly members: readonly string[];
}

/** Policy is a parsed policy file. */
export interface Policy {
  readonly logs: readonly string[];
  readonly witnesses: readonly PolicyWitness[];
  readonly groups: ReadonlyMap<string, Group>;
  readonly quorum: string;
}

/** parsePolicy parses a policy file strictly, naming the line of any error. */
export function parsePolicy(text: string): Policy {
  const logs: string[] = [];
  const witnesses: PolicyWitness[] = [];
  const groups = new Map<string, Group>();
  let quorum: string | undefined;
  const names = new Set<string>(['none']);
  const keys = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const bad = (why: string) => badRequest(`policy line ${i + 1}: ${why}`);
    const [word, ...args] = line.split(/\s+/);
    if (word === 'log') {
      if (args.length < 1 || args.length > 2) throw bad('want "log <vkey> [url]"');
      logs.push(args[0]!);
    } else if (word === 'witness') {
      if (args.length < 2 || args.length > 3) throw bad('want "witness <name> <vkey> [url]"');
      if (names.has(args[0]!)) throw bad(`name ${args[0]} is already defined`);
      let verifier: CosignatureVerifier;
      try {
        verifier = parseWitnessKey(args[1]!);
      } catch (err) {
        throw bad(err instanceof Error ? err.message : 'bad witness key');
      }
      // tlog-policy: "multiple witness lines with the same public key are not allowed".
      const key = toHex(verifier.publicKey);
      if (keys.has(key)) throw bad(`the key of ${args[0]} is already listed for another witness`);
      keys.add(key);
      names.add(args[0]!);
      witnesses.push({ name: args[0]!, verifier, url: args[2] });
    } else if (word === 'group') {
      const [name, k, ...members] = args;
      if (!name || !k || members.length === 0)
        throw bad('want "group <name> <k|any|all> <member>…"');
      if (names.has(name)) throw bad(`name ${name} is already defined`);
      for (const m of members) if (!names.has(m) || m === 'none') throw bad(`unknown member ${m}`);
      // tlog-policy: "each defined name can be listed as a group member at most once".
      const twice = members.find((m, j) => members.indexOf(m) !== j);
      if (twice !== undefined) throw bad(`member ${twice} is listed twice`);
      const threshold =
        k === 'any' ? 1 : k === 'all' ? members.length : /^[1-9][0-9]*$/.test(k) ? Number(k) : NaN;
      if (!(threshold >= 1 && threshold <= members.length)) throw bad(`bad threshold ${k}`);
      names.add(name);
      groups.set(name, { threshold, members });
    } else if (word === 'quorum') {
      if (args.length !== 1 || quorum !== undefined)
        throw bad('want exactly one "quorum <name|none>"');
      if (!names.has(args[0]!)) throw bad(`unknown quorum ${args[0]}`);
      quorum = args[0]!;
    } else {
      throw bad(`unknown keyword ${JSON.stringify(word)}`);
    }
  });
  if (quorum === undefined) throw badRequest('policy has no quorum line');
  return { logs, witnesses, groups, quorum };
}

/**
 * parseWitnessKey parses a witness's verifier key: a cosigner key (cosignature/v1 or ML-DSA-44),
 * or a plain Ed25519 note key (type 0x01), which is accepted as transparency-dev/formats and
 * Tessera do: as the cosignature/v1 key of the same name and public key, whose key ID is derived
 * again with type 0x04 (tlog-cosignature).
 */
export function parseWitnessKey(vkey: string): CosignatureVerifier {
  // name+hash+base64: the base64 may itself contain '+'.
  const typedKey = /^[^+\s]+\+[0-9a-f]{8}\+(.+)$/.exec(vkey)?.[1];
  if (fromBase64(typedKey ?? '')?.[0] !== ALG_ED25519) return parseCosignerKey(vkey);
  const ed25519 = parseVerifierKey(vkey);
  const typed = concat(Uint8Array.of(ALG_COSIGNATURE_V1), ed25519.publicKey);
  const id = keyId(ed25519.name, typed).subarray(0, 4);
  return parseCosignerKey(`${ed25519.name}+${toHex(id)}+${toBase64(typed)}`);
}

/** quorumMet reports whether the witnesses named in cosigned satisfy the policy's quorum. */
export function quorumMet(policy: Policy, cosigned: ReadonlySet<string>): boolean {
  const met = (name: string): boolean => {
    if (name === 'none') return true;
    const g = policy.groups.get(name);
    if (!g) return cosigned.has(name);
    return g.members.filter(met).length >= g.threshold;
  };
  return met(policy.quorum);
}
