// A small HTTP proxy in front of a live `tilelog serve` that can turn hostile: it flips one byte
// of a hash tile, or one byte of a proof hash in a lookup answer, for the explorer's fault tests.
import { createServer } from 'node:http';

/** Tamper says what the proxy corrupts: nothing, hash tiles, lookup proofs, the checkpoint. */
export type Tamper = 'none' | 'tile' | 'lookup' | 'checkpoint';

export interface Proxy {
  readonly url: string;
  tamper: Tamper;
  /** tampered counts the responses the proxy changed. */
  tampered: number;
  close(): Promise<void>;
}

const KEEP = [
  'content-type',
  'cache-control',
  'access-control-allow-origin',
  'content-security-policy',
];

// flipProof flips one bit of one decoded proof hash (a trie sibling, else the revision's
// inclusion proof) and re-encodes it, so the answer still parses and only the proof is wrong.
function flipProof(body: Buffer): Buffer {
  const a = JSON.parse(body.toString('utf8'));
  const flip = (b64: string) => {
    const b = Buffer.from(b64, 'base64');
    b[0]! ^= 1;
    return b.toString('base64');
  };
  if (a.trie?.steps?.length > 0) a.trie.steps[0].sibling = flip(a.trie.steps[0].sibling);
  else a.revision.inclusionProof[0] = flip(a.revision.inclusionProof[0]);
  return Buffer.from(JSON.stringify(a));
}

// flipSignature flips one bit of the log's signature in a checkpoint note.
function flipSignature(body: Buffer): Buffer {
  const lines = body.toString('utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith('\u2014 '));
  const parts = lines[i]!.split(' ');
  const sig = Buffer.from(parts[2]!, 'base64');
  sig[sig.length - 1]! ^= 1;
  lines[i] = `${parts[0]} ${parts[1]} ${sig.toString('base64')}`;
  return Buffer.from(lines.join('\n'));
}

/** startProxy forwards every request to upstream (an origin), tampering as p.tamper says. */
export async function startProxy(upstream: string): Promise<Proxy> {
  const p = { tamper: 'none' as Tamper, tampered: 0 };
  const server = createServer((req, res) => {
    void (async () => {
      // undici asks for gzip and decompresses: the body here is the plain bytes.
      const up = await fetch(upstream + req.url!, { method: req.method });
      let body: Buffer = Buffer.from(await up.arrayBuffer());
      if (up.ok && p.tamper === 'tile' && /\/tile\/0\//.test(req.url!)) {
        body = Buffer.from(body);
        body[body.length - 1]! ^= 1;
        p.tampered++;
      }
      if (up.ok && p.tamper === 'checkpoint' && /^\/api\/v2\/checkpoint$/.test(req.url!)) {
        body = flipSignature(body);
        p.tampered++;
      }
      if (up.ok && p.tamper === 'lookup' && /\/lookup/.test(req.url!)) {
        body = flipProof(body);
        p.tampered++;
      }
      const headers: Record<string, string> = {};
      for (const k of KEEP) if (up.headers.get(k)) headers[k] = up.headers.get(k)!;
      res.writeHead(up.status, headers);
      res.end(body);
    })().catch(() => {
      res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return Object.assign(p, {
    url: `http://127.0.0.1:${addr.port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
