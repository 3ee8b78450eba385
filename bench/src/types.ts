/** One measured row of the benchmark table. */
export interface BenchRow {
  /** The comparison this row belongs to, e.g. "flags: 30% rollout by user id". */
  group: string;
  /** Who was measured, e.g. "@ops/flags" or "unleash-client 6.12.1". */
  subject: string;
  /** Throughput, when the row measures one (ops per second). */
  opsPerSec?: number;
  /** Latency figures in milliseconds, when the row measures them. */
  p50Ms?: number;
  p99Ms?: number;
  /** Free text: batch size, setup, caveats. */
  note?: string;
  /** True for the row of ours that a group's ratios are taken against. */
  ours?: boolean;
}

/** A benchmark case module default-exports one of these. */
export interface BenchCase {
  name: string;
  /** Rows measured in this run. Cases needing PostgreSQL/Redis skip (return []) with a note when absent. */
  run(options: { quick: boolean }): Promise<BenchRow[]>;
}

/** Median of `runs` timed repetitions of `fn(n)`, as ops/s. */
export async function measureOps(n: number, runs: number, fn: (n: number) => unknown | Promise<unknown>): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await fn(n);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(n / dt);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
