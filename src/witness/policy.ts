/**
 * C2SP tlog-policy files: `log <vkey> [url]`, `witness <name> <vkey> [url]`,
 * `group <name> <k|any|all> <member>…` and `quorum <name|none>`, with `#` comments. A policy says
 * which witnesses to ask and when their cosignatures are enough.
 */
import { badRequest } from '../errors.ts';
import { type CosignatureVerifier, parseCosignerKey } from '../note/index.ts';

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
        verifier = parseCosignerKey(args[1]!);
      } catch (err) {
        throw bad(err instanceof Error ? err.message : 'bad witness key');
      }
      names.add(args[0]!);
      witnesses.push({ name: args[0]!, verifier, url: args[2] });
    } else if (word === 'group') {
      const [name, k, ...members] = args;
      if (!name || !k || members.length === 0)
        throw bad('want "group <name> <k|any|all> <member>…"');
      if (names.has(name)) throw bad(`name ${name} is already defined`);
      for (const m of members) if (!names.has(m) || m === 'none') throw bad(`unknown member ${m}`);
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
