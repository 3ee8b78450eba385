export interface BackoffOptions {
  /** First retry delay before jitter (default 1 s). */
  baseMs?: number;
  /** Cap on one delay (default 5 min). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
}

/**
 * Exponential backoff with "equal jitter": half of the exponential step is fixed, half random, so
 * delays still grow while many workers retrying after one outage spread out instead of
 * stampeding together. `attempt` is 1 for the first retry. `random` returns [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 300_000;
  const step = Math.min(max, base * (options.factor ?? 2) ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}
