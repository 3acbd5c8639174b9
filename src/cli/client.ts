/**
 * Commands of a log's users: add entries, fetch proofs, verify a sigstore bundle offline (the
 * monitor is in monitor.ts). They talk to a log over HTTP and verify what it answers.
 */
import { readFile } from 'node:fs/promises';

import { fromBase64, toBase64 } from '../bytes.ts';
import { checkInclusion, leafHash } from '../merkle/index.ts';
import { openNote, parseCheckpoint, parseVerifierKey } from '../note/index.ts';
import { NOT_CHECKED, verifyBundle } from '../verify/index.ts';
import { fail, URL_FLAG, VKEY } from './common.ts';
import { defineCommand, usageError } from './flags.ts';

async function fetchOk(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (!res.ok) fail(`${init?.method ?? 'GET'} ${url}: ${res.status} ${(await res.text()).trim()}`);
  return res;
}

/** add posts files as entries and checks the inclusion proof of each answer. */
export const add = defineCommand({
  name: 'add',
  summary: 'Add each FILE as an entry; verify its inclusion (and the signature with --vkey).',
  flags: [URL_FLAG, VKEY],
  positionals: { name: 'FILE...', min: 1 },
  async run({ url, vkey }, files) {
    for (const file of files) {
      const entry = await readFile(file);
      const res = await fetchOk(`${url}/add`, {
        method: 'POST',
        body: entry,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      const r = (await res.json()) as { index: string; checkpoint: string; hashes: string[] };
      const text = vkey
        ? openNote(r.checkpoint, [parseVerifierKey(vkey)]).text
        : r.checkpoint.slice(0, r.checkpoint.indexOf('\n\n') + 1);
      const cp = parseCheckpoint(text);
      const proof = r.hashes.map((h) => fromBase64(h) ?? fail('bad hash'));
      checkInclusion(Number(r.index), cp.size, leafHash(entry), proof, cp.root);
      const verified = vkey ? 'signature and inclusion' : 'inclusion';
      console.log(JSON.stringify({ file, index: Number(r.index), treeSize: cp.size, verified }));
    }
    return 0;
  },
});

async function latestSize(url: string): Promise<number> {
  const text = await (await fetchOk(`${url}/checkpoint`)).text();
  return parseCheckpoint(text.split('\n\n')[0] + '\n').size;
}

/** proofInclusion prints an inclusion proof from the log. */
export const proofInclusion = defineCommand({
  name: 'proof inclusion',
  summary: 'Print the inclusion proof of an entry, by index or by file.',
  flags: [
    URL_FLAG,
    { name: 'index', type: 'string', arg: 'I', help: "the entry's index" },
    { name: 'file', type: 'string', arg: 'F', help: 'the entry itself' },
    { name: 'size', type: 'string', arg: 'N', help: 'tree size (default: the latest)' },
  ],
  async run({ url, index, file, size }) {
    const which = file
      ? `leafHash=${encodeURIComponent(toBase64(leafHash(await readFile(file))))}`
      : `index=${index ?? usageError('proof inclusion needs --index or --file')}`;
    const treeSize = size ?? (await latestSize(url));
    console.log(
      await (await fetchOk(`${url}/proof/inclusion?${which}&treeSize=${treeSize}`)).text(),
    );
    return 0;
  },
});

/** proofConsistency prints a consistency proof from the log. */
export const proofConsistency = defineCommand({
  name: 'proof consistency',
  summary: 'Print the consistency proof between two tree sizes.',
  flags: [
    URL_FLAG,
    { name: 'first', type: 'string', arg: 'M', required: true, help: 'the older tree size' },
    { name: 'last', type: 'string', arg: 'N', help: 'the newer tree size (default: the latest)' },
  ],
  async run({ url, first, last }) {
    const lastSize = last ?? (await latestSize(url));
    const q = `firstSize=${first}&lastSize=${lastSize}`;
    console.log(await (await fetchOk(`${url}/proof/consistency?${q}`)).text());
    return 0;
  },
});

/** verifyBundleCmd checks a sigstore bundle offline against a trusted root. */
export const verifyBundleCmd = defineCommand({
  name: 'verify-bundle',
  summary: 'Verify a sigstore bundle offline against a TrustedRoot (tlog entry and signature).',
  flags: [
    { name: 'bundle', type: 'string', arg: 'B', required: true, help: 'the bundle (JSON)' },
    {
      name: 'trusted-root',
      type: 'string',
      arg: 'T',
      required: true,
      help: 'the TrustedRoot (JSON)',
    },
    {
      name: 'artifact',
      type: 'string',
      arg: 'F',
      help: 'the signed artifact, to check its digest',
    },
  ],
  notes: ['exit 0: valid; 1: invalid (the reason is printed)'],
  async run({ bundle, trustedRoot, artifact }) {
    const readJson = async (f: string) => {
      try {
        return JSON.parse(await readFile(f, 'utf8'));
      } catch (e) {
        return fail(`${f}: ${e instanceof Error ? e.message : e}`);
      }
    };
    const bytes = artifact ? new Uint8Array(await readFile(artifact)) : undefined;
    const r = verifyBundle(await readJson(bundle), await readJson(trustedRoot), bytes);
    for (const c of r.checks) console.log(`ok: ${c}`);
    console.log(NOT_CHECKED);
    console.log(r.valid ? 'valid' : `invalid: ${r.reason}`);
    return r.valid ? 0 : 1;
  },
});
