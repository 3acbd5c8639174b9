/**
 * Watch rules in rekor-monitor's YAML shapes (its README, "Configuration file format"), under
 * `monitoredValues`: certIdentities (certSubject regex over a certificate's SANs, with optional
 * issuer regexes over its OIDC issuer extension), subjects (regexes over SANs and subject names),
 * fingerprints (hex SHA-256 of a DER key or certificate), oidMatchers (OID as an array of arcs),
 * customExtensions (dotted OID), fulcioExtensions (by Fulcio's names) with exact extension values,
 * and, ours, plain digests (hex or base64). Regexes are unanchored, as Go's MatchString is. Every
 * problem is a one-line LogError naming the rule, so a bad config stops the monitor at startup.
 */
import { parse } from 'yaml';

import { fromBase64, toBase64 } from '../bytes.ts';
import { LogError } from '../errors.ts';
import type { EntrySummary, Need, Needs } from './facts.ts';

/** Rule is one compiled watch rule; name identifies it (stable across runs for one config). */
export interface Rule {
  readonly name: string;
  /** needs are the costly parts of a summary test reads (all of them when absent). */
  readonly needs?: readonly Need[];
  test(s: EntrySummary): boolean;
}

/** needsOf is what summarize must read for these rules to be tested. */
export function needsOf(rules: readonly Rule[]): Needs {
  const all = rules.some((r) => r.needs === undefined);
  const want = (n: Need) => all || rules.some((r) => r.needs!.includes(n));
  return {
    publicKeys: want('publicKeys'),
    subjects: want('subjects'),
    fingerprints: want('fingerprints'),
    extensions: want('extensions'),
  };
}

const bad = (where: string, why: string) => new LogError('bad_request', `${where}: ${why}`);

/** FULCIO_EXTENSIONS maps fulcioExtensions names to their OIDs (Fulcio docs/oid-info.md). */
export const FULCIO_EXTENSIONS: Readonly<Record<string, readonly string[]>> = {
  issuer: ['1.3.6.1.4.1.57264.1.1', '1.3.6.1.4.1.57264.1.8'],
  'github-workflow-trigger': ['1.3.6.1.4.1.57264.1.2'],
  'github-workflow-sha': ['1.3.6.1.4.1.57264.1.3'],
  'github-workflow-name': ['1.3.6.1.4.1.57264.1.4'],
  'github-workflow-repository': ['1.3.6.1.4.1.57264.1.5'],
  'github-workflow-ref': ['1.3.6.1.4.1.57264.1.6'],
  ...Object.fromEntries(
    [
      'build-signer-uri',
      'build-signer-digest',
      'runner-environment',
      'source-repository-uri',
      'source-repository-digest',
      'source-repository-ref',
      'source-repository-identifier',
      'source-repository-owner-uri',
      'source-repository-owner-identifier',
      'build-config-uri',
      'build-config-digest',
      'build-trigger',
      'run-invocation-uri',
      'source-repository-visibility-at-signing',
    ].map((n, i) => [n, [`1.3.6.1.4.1.57264.1.${9 + i}`]]),
  ),
};

function regex(v: unknown, where: string): RegExp {
  if (typeof v !== 'string' || v === '') throw bad(where, 'want a regular expression');
  try {
    return new RegExp(v, 'u');
  } catch (e) {
    throw bad(where, `invalid regular expression: ${e instanceof Error ? e.message : e}`);
  }
}

function list(v: unknown, where: string, one = false): unknown[] {
  if (one && typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw bad(where, 'want a list');
  return v;
}

function keys(v: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(where, 'want a map');
  for (const k of Object.keys(v))
    if (!allowed.includes(k))
      throw bad(`${where}.${k}`, `unknown key (want ${allowed.join(', ')})`);
  return v as Record<string, unknown>;
}

/** parseOid reads an OID given as dotted text or as a list of arcs; it returns dotted text. */
export function parseOid(v: unknown, where: string): string {
  const arcs = typeof v === 'string' ? v.split('.') : Array.isArray(v) ? v.map(String) : null;
  if (!arcs || arcs.length < 2 || !arcs.every((a) => /^(0|[1-9]\d{0,15})$/.test(a)))
    throw bad(where, 'want an OID, dotted (1.3.6.1) or a list of arcs ([1, 3, 6, 1])');
  if (Number(arcs[0]) > 2 || (Number(arcs[0]) < 2 && Number(arcs[1]) > 39))
    throw bad(where, 'not an OID (X.660: first arc 0 to 2, second under 40 below 2)');
  return arcs.join('.');
}

function values(v: unknown, where: string): string[] {
  const out = list(v, where, true).map((x, i) => {
    if (typeof x !== 'string' || x === '') throw bad(`${where}[${i}]`, 'want a string');
    return x;
  });
  if (out.length === 0) throw bad(where, 'want at least one value');
  return out;
}

function oidRule(oids: readonly string[], vals: string[], name: string): Rule {
  return {
    name,
    needs: ['extensions'],
    test: (s) =>
      s.certificates.some((c) =>
        oids.some((o) => {
          const got = c.extensions.get(o);
          return got !== undefined && vals.includes(got);
        }),
      ),
  };
}

function certIdentity(v: unknown, where: string): Rule {
  const m = keys(v, where, ['certSubject', 'issuers']);
  const subject = regex(m.certSubject, `${where}.certSubject`);
  const issuers =
    m.issuers === undefined
      ? []
      : list(m.issuers, `${where}.issuers`).map((x, i) => regex(x, `${where}.issuers[${i}]`));
  const name = `certIdentity ${subject.source}${issuers.length ? ` issuers ${issuers.map((r) => r.source).join(' ')}` : ''}`;
  return {
    name,
    needs: [],
    test: (s) =>
      s.certificates.some(
        (c) =>
          c.sans.some((x) => subject.test(x)) &&
          (issuers.length === 0 ||
            (c.issuer !== undefined && issuers.some((r) => r.test(c.issuer!)))),
      ),
  };
}

function digest(v: unknown, where: string): Rule {
  const text = typeof v === 'string' ? v.replace(/^sha(256|384|512):/, '') : '';
  const b64 = /^([0-9a-f]{2}){32,64}$/i.test(text)
    ? toBase64(Uint8Array.from(text.match(/../g)!.map((h) => parseInt(h, 16))))
    : fromBase64(text) && [32, 48, 64].includes(fromBase64(text)!.length)
      ? text
      : null;
  if (!b64) throw bad(where, 'want a SHA-256, SHA-384 or SHA-512 digest in hex or base64');
  return { name: `digest ${text}`, needs: [], test: (s) => s.digest === b64 };
}

const MONITORED = [
  'certIdentities',
  'subjects',
  'fingerprints',
  'oidMatchers',
  'customExtensions',
  'fulcioExtensions',
  'digests',
];

/** parseMonitorConfig parses a YAML config into rules, or throws a LogError naming the rule. */
export function parseMonitorConfig(text: string): Rule[] {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    throw bad('config', `not YAML: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
  }
  const top = keys(doc ?? {}, 'config', ['monitoredValues']);
  const m = keys(top.monitoredValues ?? {}, 'monitoredValues', MONITORED);
  const at = (k: string) => `monitoredValues.${k}`;
  const each = (k: string, f: (v: unknown, where: string) => Rule) =>
    m[k] === undefined ? [] : list(m[k], at(k)).map((v, i) => f(v, `${at(k)}[${i}]`));
  const rules: Rule[] = [
    ...each('certIdentities', certIdentity),
    ...each('subjects', (v, w) => {
      const r = regex(v, w);
      return {
        name: `subject ${r.source}`,
        needs: ['subjects'],
        test: (s) => s.sans.some((x) => r.test(x)) || s.subjects.some((x) => r.test(x)),
      };
    }),
    ...each('fingerprints', (v, w) => {
      if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/i.test(v))
        throw bad(w, 'want a hex fingerprint (SHA-256 of a DER key or certificate)');
      const f = v.toLowerCase();
      return {
        name: `fingerprint ${f}`,
        needs: ['fingerprints'],
        test: (s) => s.fingerprints.includes(f),
      };
    }),
    ...each('oidMatchers', (v, w) => {
      const o = keys(v, w, ['objectIdentifier', 'extensionValues']);
      const oid = parseOid(o.objectIdentifier, `${w}.objectIdentifier`);
      const vals = values(o.extensionValues, `${w}.extensionValues`);
      return oidRule([oid], vals, `oid ${oid} ${vals.join(' ')}`);
    }),
    ...each('customExtensions', (v, w) => {
      const o = keys(v, w, ['objectIdentifier', 'extensionValues']);
      if (typeof o.objectIdentifier !== 'string')
        throw bad(`${w}.objectIdentifier`, 'want a dotted OID');
      const oid = parseOid(o.objectIdentifier, `${w}.objectIdentifier`);
      const vals = values(o.extensionValues, `${w}.extensionValues`);
      return oidRule([oid], vals, `oid ${oid} ${vals.join(' ')}`);
    }),
    ...each('digests', digest),
  ];
  if (m.fulcioExtensions !== undefined) {
    const f = keys(m.fulcioExtensions, at('fulcioExtensions'), Object.keys(FULCIO_EXTENSIONS));
    for (const [k, v] of Object.entries(f)) {
      const vals = values(v, `${at('fulcioExtensions')}.${k}`);
      rules.push(oidRule(FULCIO_EXTENSIONS[k]!, vals, `fulcio ${k} ${vals.join(' ')}`));
    }
  }
  const names = new Set<string>();
  for (const r of rules) {
    if (names.has(r.name)) throw bad('monitoredValues', `rule "${r.name}" is given twice`);
    names.add(r.name);
  }
  return rules;
}
