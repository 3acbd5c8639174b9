// Shared output format for benchmarks: every line names what was measured, the limit it is
// measured against, and the ratio, so one run shows whether a target is met.
import { cpus, totalmem } from 'node:os';

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function report(
  name: string,
  value: number,
  unit: string,
  limit: number,
  limitName: string,
  target?: string,
): void {
  const ratio = value / limit;
  const t = target ? `  target ${target}` : '';
  console.log(
    `${name.padEnd(44)} ${fmt(value)} ${unit}  vs ${limitName} ${fmt(limit)} ${unit}  ratio ${ratio.toFixed(2)}${t}`,
  );
}

export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

export function rate(count: number, ms: number): number {
  return (count / ms) * 1000;
}
