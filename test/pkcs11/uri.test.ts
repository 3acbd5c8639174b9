// The PKCS#11 URI parser (RFC 7512): RFC examples, every rejection, and properties: what it
// accepts formats back to the same string, and what formatPkcs11Uri writes parses back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { LogError } from '../../src/errors.ts';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from '../../src/pkcs11/uri.ts';

const values = (u: Pkcs11Uri) => Object.fromEntries([...u.path, ...u.query]);

describe('parsePkcs11Uri', () => {
  it('reads the RFC 7512 §3 examples it supports', () => {
    const a = parsePkcs11Uri('pkcs11:object=my-pubkey;type=public');
    expect(values(a)).toEqual({ object: 'my-pubkey', type: 'public' });
    const b = parsePkcs11Uri(
      'pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin',
    );
    expect(values(b)).toEqual({
      token: 'Software PKCS#11 softtoken',
      manufacturer: 'Snake Oil, Inc.',
      'pin-value': 'the-pin',
    });
    const c = parsePkcs11Uri(
      'pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1',
    );
    expect(values(c)['module-path']).toBe('/mnt/libmypkcs11.so.1');
    const d = parsePkcs11Uri(
      'pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert',
    );
    expect(values(d).token).toBe('A name with a substring %;');
    const e = parsePkcs11Uri('pkcs11:id=%69%95%3E%5C%F4%BD%EC%91');
    expect(Array.from(e.id!)).toEqual([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91]);
    expect(values(parsePkcs11Uri('pkcs11:'))).toEqual({});
  });

  it('rejects each malformed or unsupported URI with a one-line reason', () => {
    const cases: [string, RegExp][] = [
      ['file:/x', /does not start with "pkcs11:"/],
      ['pkcs11:token=a;token=b', /"token" appears twice/],
      ['pkcs11:object=a?pin-value=1&pin-value=2', /"pin-value" appears twice/],
      ['pkcs11:library-version=1', /unsupported path attribute "library-version"/],
      ['pkcs11:object=a?module-name=softhsm2', /unsupported query attribute "module-name"/],
      ['pkcs11:object', /"object" has no "="/],
      ['pkcs11:object=a%2', /bad percent-encoding/],
      ['pkcs11:object=a%zz', /bad percent-encoding/],
      ['pkcs11:object=%FF', /not UTF-8/],
      ['pkcs11:object=%41', /not in canonical form \(write it as pkcs11:object=A\)/],
      ['pkcs11:object=a%3b', /canonical form \(write it as pkcs11:object=a%3B\)/],
      ['pkcs11:object=a b', /canonical form/],
      ['pkcs11:id=A', /canonical form \(write it as pkcs11:id=%41\)/],
      ['pkcs11:type=secret', /type "secret" is not one of/],
      ['pkcs11:slot-id=01', /slot-id is not a decimal number/],
      ['pkcs11:object=a?pin-value=1&pin-source=file:/p', /cannot both be given/],
      ['pkcs11:object=a?pin-value=a&b', /"b" has no "="/],
    ];
    for (const [uri, why] of cases) {
      let err: unknown;
      try {
        parsePkcs11Uri(uri);
      } catch (e) {
        err = e;
      }
      expect(err, uri).toBeInstanceOf(LogError);
      expect((err as LogError).code, uri).toBe('bad_request');
      expect((err as LogError).message, uri).toMatch(why);
      expect((err as LogError).message, uri).not.toMatch(/\n/);
    }
  });

  const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s.isWellFormed());
  const uriArb: fc.Arbitrary<Pkcs11Uri> = fc
    .record({
      token: fc.option(text, { nil: undefined }),
      serial: fc.option(text, { nil: undefined }),
      object: fc.option(text, { nil: undefined }),
      type: fc.option(fc.constantFrom('public', 'private', 'cert', 'secret-key', 'data'), {
        nil: undefined,
      }),
      slot: fc.option(fc.nat(), { nil: undefined }),
      id: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }),
      module: fc.option(text, { nil: undefined }),
      pin: fc.option(
        fc.tuple(
          fc.constantFrom('pin-value', 'pin-source') as fc.Arbitrary<'pin-value' | 'pin-source'>,
          text,
        ),
        { nil: undefined },
      ),
    })
    .map((r) => {
      const path: [Pkcs11Uri['path'][number][0], string][] = [];
      if (r.token !== undefined) path.push(['token', r.token]);
      if (r.serial !== undefined) path.push(['serial', r.serial]);
      if (r.slot !== undefined) path.push(['slot-id', String(r.slot)]);
      if (r.object !== undefined) path.push(['object', r.object]);
      if (r.type !== undefined) path.push(['type', r.type]);
      if (r.id !== undefined) path.push(['id', '']);
      const query: [Pkcs11Uri['query'][number][0], string][] = [];
      if (r.module !== undefined) query.push(['module-path', r.module]);
      if (r.pin !== undefined) query.push(r.pin);
      return { path, query, ...(r.id !== undefined ? { id: r.id } : {}) };
    });

  it('parses back whatever formatPkcs11Uri writes, unchanged', () => {
    fc.assert(
      fc.property(uriArb, (u) => {
        const s = formatPkcs11Uri(u);
        expect(parsePkcs11Uri(s)).toEqual(u);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a mangled string only if it formats back to the same string', () => {
    const mangled = fc.oneof(
      uriArb
        .map(formatPkcs11Uri)
        .chain((s) =>
          fc
            .tuple(
              fc.nat(s.length),
              fc.nat(3),
              fc.constantFrom('%', ';', '&', '?', '=', 'a', '%4', ' ', 'é'),
            )
            .map(([i, n, c]) => s.slice(0, i) + c + s.slice(i + n)),
        ),
      fc.string({ maxLength: 40 }).map((s) => 'pkcs11:' + s),
    );
    fc.assert(
      fc.property(mangled, (s) => {
        let u: Pkcs11Uri;
        try {
          u = parsePkcs11Uri(s);
        } catch (err) {
          expect(err).toBeInstanceOf(LogError);
          return;
        }
        expect(formatPkcs11Uri(u)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});
