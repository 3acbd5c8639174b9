// Write load for crash tests and the crash harness: shared so both drive servers the same way.

/**
 * writeLoad posts unique entries to a server from `writers` loops until stop.done or the server
 * dies, recording every acknowledged entry's index and every checkpoint it answered with.
 */
export async function writeLoad(
  url: string,
  tag: string,
  writers: number,
  acked: Map<string, number>,
  served: Set<string>,
  stop: { done: boolean },
): Promise<void> {
  let n = 0;
  const writer = async (w: number) => {
    while (!stop.done) {
      const entry = `${tag} writer ${w} entry ${n++}`;
      try {
        const r = await fetch(`${url}/add`, { method: 'POST', body: entry });
        if (r.status !== 200) continue;
        const body = (await r.json()) as { index: string; checkpoint: string };
        acked.set(entry, Number(body.index));
        served.add(body.checkpoint);
      } catch {
        return; // the server died
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
}
