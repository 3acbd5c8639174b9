/**
 * Reading a streamed request body in exact-size pieces, for the generator parsers of body.ts:
 * add-entries bodies are unbounded, so they are parsed as they arrive and at most one entry
 * package is held in memory (tlog-mirror, "Processing": the mirror SHOULD stream).
 */
import type { Parser } from './body.ts';

/** ByteReader hands out a stream's bytes in exact-size pieces. */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private done = false;
  /** consumed counts the bytes handed out so far. */
  consumed = 0;

  constructor(stream: AsyncIterable<Uint8Array>) {
    this.it = stream[Symbol.asyncIterator]();
  }

  // fill makes the current chunk non-empty, unless the stream has ended.
  private async fill(): Promise<void> {
    while (this.chunk.length === 0 && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else this.chunk = r.value;
    }
  }

  /** atEnd reports whether the stream has no more bytes. */
  async atEnd(): Promise<boolean> {
    await this.fill();
    return this.chunk.length === 0;
  }

  /** read returns the next n bytes, or fewer when the stream ends first. */
  async read(n: number): Promise<Uint8Array> {
    await this.fill();
    if (this.chunk.length >= n) {
      const out = this.chunk.subarray(0, n);
      this.chunk = this.chunk.subarray(n);
      this.consumed += n;
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      await this.fill();
      if (this.chunk.length === 0) break;
      const take = Math.min(n - got, this.chunk.length);
      out.set(this.chunk.subarray(0, take), got);
      this.chunk = this.chunk.subarray(take);
      got += take;
    }
    this.consumed += got;
    return out.subarray(0, got);
  }

  /** close stops reading the stream (its source is told to stop where it can). */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/** runParser feeds parser from reader until it returns its value or its reason. */
export async function runParser<T>(parser: Parser<T>, reader: ByteReader): Promise<T | string> {
  let step = parser.next();
  while (!step.done) step = parser.next(await reader.read(step.value));
  return step.value;
}
