/** `tilelog hammer`: load and verify any tlog-tiles log (src/hammer/). */
import { runHammer } from '../hammer/index.ts';
import { parseVerifierKey } from '../note/index.ts';
import { VKEY } from './common.ts';
import { defineCommand, usageError } from './flags.ts';

// Rates may be 0 (reads only, or writes only), so they are not `int` flags.
function rate(v: string, name: string): number {
  if (!/^(0|[1-9][0-9]{0,6})$/.test(v))
    usageError(`--${name} must be a whole number of requests/s`);
  return Number(v);
}

/** hammer loads a log at the given rates, verifies all it reads and prints one JSON line. */
export const hammer = defineCommand({
  name: 'hammer',
  summary: 'Load any tlog-tiles log with writes and reads, verifying everything it reads.',
  flags: [
    { name: 'url', type: 'string', arg: 'PREFIX', required: true, help: "the log's prefix" },
    { ...VKEY, help: "the log's verifier key (without it, checkpoint signatures are not checked)" },
    { name: 'write-rate', type: 'string', arg: 'N', default: '10', help: 'writes per second' },
    { name: 'read-rate', type: 'string', arg: 'N', default: '50', help: 'reads per second' },
    {
      name: 'rekor',
      type: 'boolean',
      help: 'write signed hashedrekord requests to log/entries instead of raw entries to add',
    },
    { name: 'duration', type: 'int', arg: 'S', default: 10, help: 'seconds to run' },
    {
      name: 'max-in-flight',
      type: 'int',
      arg: 'N',
      default: 256,
      help: 'outstanding writes (and reads) at most; requests past it are skipped',
    },
  ],
  notes: [
    'Reads are random checkpoints, hash tiles and entry bundles. Checked: checkpoint signatures',
    '(with --vkey), no rollback, consistency between every two checkpoints (from tiles), each',
    "answer's inclusion proof, immutable full tiles, every acknowledged entry at its index.",
    'Prints a live line on stderr each second and one JSON line at the end;',
    'exit 1 if any verification failed.',
  ],
  async run(v) {
    const result = await runHammer({
      url: v.url,
      verifiers: v.vkey ? [parseVerifierKey(v.vkey)] : [],
      writeRate: rate(v.writeRate, 'write-rate'),
      readRate: rate(v.readRate, 'read-rate'),
      rekor: v.rekor,
      durationMs: v.duration * 1000,
      maxInFlight: v.maxInFlight,
      status: (line) => process.stderr.write(line + '\n'),
    });
    const { failures, errorKinds, ...summary } = result;
    for (const f of failures) process.stderr.write(`VERIFY FAILED: ${f}\n`);
    if (Object.keys(errorKinds).length > 0)
      process.stderr.write(`errors: ${JSON.stringify(errorKinds)}\n`);
    console.log(JSON.stringify(summary));
    return result.verifyFailures > 0 ? 1 : 0;
  },
});
