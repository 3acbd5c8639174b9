/**
 * Commands that publish a log to sigstore clients: trust-root writes the whole TrustedRoot and
 * SigningConfig documents for a log (or adds it to existing ones), and rotate freezes a shard,
 * starts the next one, and writes the same documents with the old log bounded in time. Both use
 * src/entries/trust.ts.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { loadOrCreateDevKey, readSignerKey } from '../config.ts';
import {
  defaultOperator,
  endLog,
  type LogTrust,
  PROPAGATION_MS,
  type TrustDocuments,
  trustDocuments,
} from '../entries/index.ts';
import { LogError } from '../errors.ts';
import { fail } from './common.ts';
import { defineCommand, type Flag, usageError } from './flags.ts';
import { freezeLog } from './log.ts';

const OPERATOR = {
  name: 'operator',
  type: 'string',
  arg: 'ORG',
  help: 'organisation running the log, e.g. example.com (default: the URL host minus its first label)',
} as const satisfies Flag;
const MERGE_ROOT = {
  name: 'merge-trusted-root',
  type: 'string',
  arg: 'FILE',
  help: 'add the log to this TrustedRoot instead of starting an empty one',
} as const satisfies Flag;
const MERGE_CONFIG = {
  name: 'merge-signing-config',
  type: 'string',
  arg: 'FILE',
  help: 'add the log to this SigningConfig instead of starting an empty one',
} as const satisfies Flag;
const OUT = {
  name: 'out',
  type: 'string',
  arg: 'DIR',
  help: 'write DIR/trusted_root.json and DIR/signing_config.v0.2.json',
} as const satisfies Flag;

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

function when(v: string | undefined, flag: string, fallback: Date): Date {
  if (v === undefined) return fallback;
  const d = new Date(v);
  if (!RFC3339.test(v) || Number.isNaN(d.getTime()))
    usageError(`--${flag} ${v} is not an RFC 3339 time (2026-01-02T03:04:05Z)`);
  return d;
}

function baseUrl(url: string, flag: string): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    usageError(`--${flag} ${url} is not an http(s) URL`);
  return url.replace(/\/+$/, '');
}

async function readJson(file: string | undefined): Promise<unknown> {
  if (file === undefined) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    return fail(`${file}: ${e instanceof Error ? e.message : e}`);
  }
}

/** build runs the library and turns a bad document into a one-line failure. */
function build(f: () => TrustDocuments): TrustDocuments {
  try {
    return f();
  } catch (e) {
    if (e instanceof LogError) fail(e.message);
    throw e;
  }
}

// Each file is written whole or not at all: a reader never sees half a document.
async function writeDocs(dir: string, docs: TrustDocuments): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, doc] of [
    ['trusted_root.json', docs.trustedRoot],
    ['signing_config.v0.2.json', docs.signingConfig],
  ] as const) {
    const tmp = join(dir, `.${name}.tmp`);
    await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`);
    await rename(tmp, join(dir, name));
  }
  console.error(
    `wrote ${join(dir, 'trusted_root.json')} and ${join(dir, 'signing_config.v0.2.json')}`,
  );
}

/** trustRoot writes the TrustedRoot and SigningConfig that point sigstore clients at a log. */
export const trustRoot = defineCommand({
  name: 'trust-root',
  summary:
    'Write the sigstore TrustedRoot and SigningConfig for a log (or add it to existing ones).',
  flags: [
    {
      name: 'url',
      type: 'string',
      arg: 'https://HOST',
      required: true,
      help: "the log's base URL",
    },
    {
      name: 'key',
      type: 'string',
      arg: 'FILE|URI',
      required: true,
      help: 'its signer key: a key file, or a PKCS#11 URI (with --origin)',
    },
    {
      name: 'origin',
      type: 'string',
      arg: 'ORIGIN',
      help: "the log's origin, the name of a --key in a PKCS#11 token (a key file names itself)",
    },
    { ...OUT, required: true },
    OPERATOR,
    {
      name: 'key-valid-from',
      type: 'string',
      arg: 'TIME',
      help: "start of the log key's validFor (RFC 3339; default: now)",
    },
    {
      name: 'signing-valid-from',
      type: 'string',
      arg: 'TIME',
      help: 'when clients may start writing to the log (default: a day after --key-valid-from)',
    },
    MERGE_ROOT,
    MERGE_CONFIG,
  ],
  notes: [
    'Signing starts after the key is valid so that the TrustedRoot reaches verifiers first',
    '(rekor-tiles CLIENTS.md, "SigningConfig support").',
  ],
  async run(v) {
    const url = baseUrl(v.url, 'url');
    const signer = await readSignerKey(v.key, v.origin);
    if (new URL(url).host !== signer.name) {
      console.error(
        `warning: key name ${signer.name} is not the host of ${url}; sigstore clients match them`,
      );
    }
    const keyValidFrom = when(v.keyValidFrom, 'key-valid-from', new Date());
    const log: LogTrust = {
      baseUrl: url,
      signer,
      operator: v.operator ?? defaultOperator(url),
      keyValidFrom,
      signingValidFrom: when(
        v.signingValidFrom,
        'signing-valid-from',
        new Date(keyValidFrom.getTime() + PROPAGATION_MS),
      ),
    };
    const merge = {
      trustedRoot: await readJson(v.mergeTrustedRoot),
      signingConfig: await readJson(v.mergeSigningConfig),
    };
    await writeDocs(
      v.out,
      build(() => trustDocuments([log], merge)),
    );
    return 0;
  },
});

/** rotate freezes a shard, starts the next one, and writes the trust documents for both. */
export const rotate = defineCommand({
  name: 'rotate',
  summary: 'Freeze this shard, make the next one, write the sigstore trust documents for both.',
  flags: [
    { name: 'data', type: 'string', arg: 'DIR', required: true, help: "the current shard's data" },
    { name: 'old-url', type: 'string', arg: 'URL', required: true, help: 'its base URL' },
    {
      name: 'old-key-valid-from',
      type: 'string',
      arg: 'TIME',
      help: "start of the old key's validFor, if --merge-trusted-root does not list the old log",
    },
    { name: 'new-origin', type: 'string', arg: 'ORIGIN', required: true, help: 'next origin' },
    {
      name: 'new-data',
      type: 'string',
      arg: 'DIR',
      required: true,
      help: 'empty data directory for the next shard',
    },
    { name: 'new-url', type: 'string', arg: 'URL', help: 'its base URL (default: https://ORIGIN)' },
    OUT,
    OPERATOR,
    {
      name: 'signing-valid-from',
      type: 'string',
      arg: 'TIME',
      help: 'when clients switch to the next shard (default: now, as the old one is frozen now)',
    },
    MERGE_ROOT,
    MERGE_CONFIG,
  ],
  async run(v) {
    const oldUrl = baseUrl(v.oldUrl, 'old-url');
    const newUrl = baseUrl(v.newUrl ?? `https://${v.newOrigin}`, 'new-url');
    const merge = {
      trustedRoot: await readJson(v.mergeTrustedRoot),
      signingConfig: await readJson(v.mergeSigningConfig),
    };
    const listed = (merge.trustedRoot as { tlogs?: { baseUrl?: string }[] } | undefined)?.tlogs;
    const oldListed = Array.isArray(listed) && listed.some((t) => t?.baseUrl === oldUrl);
    if (!oldListed && v.oldKeyValidFrom === undefined)
      usageError('rotate needs --old-key-valid-from, or a --merge-trusted-root listing --old-url');
    const now = new Date();
    const signingValidFrom = when(v.signingValidFrom, 'signing-valid-from', now);
    const operator = v.operator ?? defaultOperator(newUrl);
    const oldSigner = await readSignerKey(join(v.data, 'log.key'));
    // 1. Freeze the current shard: a final checkpoint with the freeze line; writes now get 405.
    const frozenCheckpoint = await freezeLog({ data: v.data });
    // 2. The next shard: a new origin and a new key.
    const next = await loadOrCreateDevKey(v.newData, v.newOrigin);
    if (!next.created) fail(`${v.newData} already holds a key; choose an empty directory`);
    // 3. The documents: the old log (listed already, or added) bounded in time, the new one added.
    const logs: LogTrust[] = [];
    if (!oldListed) {
      const from = when(v.oldKeyValidFrom, 'old-key-valid-from', now);
      logs.push({
        baseUrl: oldUrl,
        signer: oldSigner,
        operator,
        keyValidFrom: from,
        signingValidFrom: from,
      });
    }
    logs.push({
      baseUrl: newUrl,
      signer: next.signer,
      operator,
      keyValidFrom: now,
      signingValidFrom,
    });
    const docs = build(() => trustDocuments(logs, merge));
    endLog(docs, oldUrl, now, signingValidFrom);
    if (v.out) await writeDocs(v.out, docs);
    const summary = { frozenCheckpoint, newVerifierKey: next.signer.verifierKey, ...docs };
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  },
});
