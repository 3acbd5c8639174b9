// Watch rules in rekor-monitor's YAML shapes, matched against entries whose certificates openssl
// made, through a served log and the monitor's own follow step.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { createApp } from '../../src/api/index.ts';
import { utf8 } from '../../src/bytes.ts';
import { TlogClient } from '../../src/client/index.ts';
import { LogError } from '../../src/errors.ts';
import { ALL, summarize } from '../../src/monitor/facts.ts';
import { parseMonitorConfig } from '../../src/monitor/index.ts';
import { loadMonitorState, monitorStep, saveMonitorState } from '../../src/monitor/monitor.ts';
import { needsOf, parseOid } from '../../src/monitor/rules.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from '../../src/note/index.ts';
import { Log } from '../../src/sequencer/index.ts';
import { MemoryStore } from '../../src/storage/memory.ts';
import { makeSigner, request } from '../helpers/signers.ts';
import { BUILD_SIGNER_URI, ISSUER, makeCert } from './certs.ts';

const GH = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

const CONFIG = `
monitoredValues:
  certIdentities:
    - certSubject: ^https://github\\.com/acme/.*/release\\.yml@
      issuers:
        - ^https://token\\.actions\\.githubusercontent\\.com$
    - certSubject: alice@example\\.com
  subjects:
    - ^bob@
  fingerprints:
    - FINGERPRINT
  oidMatchers:
    - objectIdentifier: [1, 3, 6, 1, 4, 1, 57264, 1, 9]
      extensionValues: [https://builder.example/v1]
  customExtensions:
    - objectIdentifier: 1.3.6.1.4.1.57264.1.8
      extensionValues: https://accounts.example
  fulcioExtensions:
    build-signer-uri:
      - https://builder.example/v2
  digests:
    - DIGEST
`;

describe('monitor rules (rekor-monitor YAML shapes)', () => {
  it('matches identities, issuers, fingerprints, OIDs and digests in a served log', async () => {
    const origin = 'log.example.test/rules';
    const signer = parseSignerKey(generateSignerKey(origin));
    const log = await Log.open(new MemoryStore(), { origin, signer, maxAgeMs: 1 });
    const app = createApp(log);
    const post = async (body: object) => {
      const res = await app.request('/api/v2/log/entries', {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBe(201);
    };
    const a = (i: number) => utf8(`artifact ${i}`);
    const certs = [
      makeCert(`URI:${WORKFLOW}`, { [ISSUER]: GH }), // 0: certIdentities[0]
      makeCert(`URI:${WORKFLOW}`, { [ISSUER]: 'https://evil.example' }), // 1: wrong issuer
      makeCert('email:alice@example.com'), // 2: certIdentities[1]
      makeCert('email:bob@example.com', { [BUILD_SIGNER_URI]: 'https://builder.example/v1' }), // 3
      makeCert('email:carol@example.com', { [ISSUER]: 'https://accounts.example' }), // 4
      makeCert('email:dave@example.com', { [BUILD_SIGNER_URI]: 'https://builder.example/v2' }), // 5
    ];
    for (const [i, c] of certs.entries()) await post(c.request(a(i)));
    const key = makeSigner('PKIX_ECDSA_P256_SHA_256');
    await post(request(key, a(6))); // 6: fingerprint of its key
    await post(request(makeSigner('PKIX_ECDSA_P256_SHA_256'), a(7))); // 7: digest
    await post(request(makeSigner('PKIX_ECDSA_P256_SHA_256'), a(8))); // 8: nothing
    const fingerprint = Buffer.from(
      await crypto.subtle.digest('SHA-256', key.spki as Uint8Array<ArrayBuffer>),
    ).toString('hex');
    const digest = Buffer.from(
      await crypto.subtle.digest('SHA-256', a(7) as Uint8Array<ArrayBuffer>),
    ).toString('hex');
    const rules = parseMonitorConfig(
      CONFIG.replace('FINGERPRINT', fingerprint.toUpperCase()).replace('DIGEST', digest),
    );
    expect(rules).toHaveLength(8);
    const client = new TlogClient({
      url: 'http://log.test/api/v2',
      verifiers: [parseVerifierKey(signer.verifierKey)],
      fetch: ((u: string) => app.request(u)) as typeof fetch,
    });
    const found: [number, string[]][] = [];
    const state = await monitorStep(
      client,
      null,
      rules,
      { match: (i, _s, r) => void found.push([i, r.map((x) => x.name)]) },
      'start',
    );
    expect(found).toEqual([
      [0, [`certIdentity ${rules[0]!.name.slice(13)}`]],
      [2, ['certIdentity alice@example\\.com']],
      [3, ['subject ^bob@', `oid ${BUILD_SIGNER_URI} https://builder.example/v1`]],
      [4, [`oid ${ISSUER} https://accounts.example`]],
      [5, ['fulcio build-signer-uri https://builder.example/v2']],
      [6, [`fingerprint ${fingerprint}`]],
      [7, [`digest ${digest}`]],
    ]);
    // Each rule alone reads only the parts it needs, and matches as on the whole summary.
    const entries: Uint8Array[] = [];
    const all = { name: 'all', test: () => true };
    await monitorStep(
      client,
      null,
      [all],
      { match: (_i, _s, _r, e) => void entries.push(e) },
      'start',
    );
    expect(entries).toHaveLength(9);
    for (const r of rules) {
      expect(r.needs).toBeDefined();
      for (const e of entries)
        expect(r.test(summarize(e, needsOf([r])))).toBe(r.test(summarize(e)));
    }
    expect(needsOf([all])).toEqual(ALL);
    expect(needsOf(rules.slice(0, 2))).toEqual({
      publicKeys: false,
      subjects: false,
      fingerprints: false,
      extensions: false,
    });
    // A saved position round-trips and is checked against its own checkpoint.
    const dir = mkdtempSync(join(tmpdir(), 'tilelog-rules-'));
    const file = join(dir, 'p.json');
    await saveMonitorState(file, state);
    const verifiers = [parseVerifierKey(signer.verifierKey)];
    expect((await loadMonitorState(file, verifiers))!.edge.size).toBe(9);
    // An edge that is not the checkpoint's (another tree's, or none) is refused at load.
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    for (const levels of [[], [saved.levels[0].slice().reverse()], [[saved.levels[0][0]]]]) {
      writeFileSync(file, JSON.stringify({ ...saved, levels }));
      await expect(loadMonitorState(file, verifiers)).rejects.toThrow(/not that of its checkpoint/);
    }
  });

  it('reads a certificate: SANs, issuer and Fulcio extensions, fingerprints', () => {
    const c = makeCert(`URI:${WORKFLOW}`, { [ISSUER]: GH, [BUILD_SIGNER_URI]: 'x' });
    const body = {
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          data: { algorithm: 'SHA2_256', digest: 'AAAA' },
          signature: {
            content: 'AA==',
            verifier: { x509Certificate: { rawBytes: Buffer.from(c.der).toString('base64') } },
          },
        },
      },
    };
    const s = summarize(utf8(JSON.stringify(body)));
    expect(s.sans).toEqual([WORKFLOW]);
    expect(s.certificates[0]!.issuer).toBe(GH);
    expect(s.certificates[0]!.extensions.get(BUILD_SIGNER_URI)).toBe('x');
    expect(s.fingerprints).toHaveLength(2);
  });

  it('refuses a bad config with a one-line reason naming the rule', () => {
    const cases: [string, RegExp][] = [
      [
        'monitoredValues:\n  certIdentities:\n    - certSubject: ok\n    - certSubject: x\n      issuers: ["(unclosed"]',
        /^monitoredValues\.certIdentities\[1\]\.issuers\[0\]: invalid regular expression/,
      ],
      [
        'monitoredValues:\n  subjects: ["a++(" ]',
        /^monitoredValues\.subjects\[0\]: invalid regular/,
      ],
      ['monitoredValues:\n  colours: [blue]', /^monitoredValues\.colours: unknown key/],
      ['startIndex: 5', /^config\.startIndex: unknown key/],
      ['monitoredValues:\n  fingerprints: [xyz]', /fingerprints\[0\]: want a hex fingerprint/],
      [
        'monitoredValues:\n  oidMatchers:\n    - objectIdentifier: [3, 1]\n      extensionValues: [a]',
        /oidMatchers\[0\]\.objectIdentifier: not an OID/,
      ],
      [
        'monitoredValues:\n  fulcioExtensions:\n    colour: [a]',
        /fulcioExtensions\.colour: unknown key/,
      ],
      ['monitoredValues:\n  digests: [abc]', /digests\[0\]: want a SHA-256/],
      ['monitoredValues: {a: 1, a: 2}', /^config: not YAML/],
      ['monitoredValues:\n  subjects: [a, a]', /rule "subject a" is given twice/],
    ];
    for (const [text, want] of cases) {
      let err: unknown;
      try {
        parseMonitorConfig(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(LogError);
      expect((err as LogError).message, text).toMatch(want);
      expect((err as LogError).message).not.toContain('\n');
    }
  });

  it('parses OIDs strictly: dotted and array forms agree and the output round-trips', () => {
    const arc = fc.integer({ min: 0, max: 2 ** 40 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 39 }),
        fc.array(arc),
        (a, b, rest) => {
          const arcs = [a, b, ...rest];
          const dotted = parseOid(arcs.join('.'), 'x');
          expect(parseOid(arcs, 'x')).toBe(dotted);
          expect(parseOid(dotted, 'x')).toBe(dotted);
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          expect(parseOid(s, 'x')).toBe(s);
        } catch (e) {
          expect(e).toBeInstanceOf(LogError);
        }
      }),
    );
  });
});
