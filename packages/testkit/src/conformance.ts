import { describe, it } from "vitest";
import type { StoreCapabilities } from "@ops/core";

/**
 * Options every conformance suite takes. `create` must return a fresh, empty-looking store for
 * each case (random tenants keep cases apart when a database is shared).
 */
export interface ConformanceOptions<S, R = never> {
  /** Shown in test names, e.g. "memory" or "drizzle/node-postgres". */
  name: string;
  create: () => S | Promise<S>;
  /** A backdoor that reads (and for tamper tests, writes) what was really stored. */
  raw?: R | ((store: S) => R);
  /** Overrides of what the store declares; a case needing a missing capability is skipped. */
  capabilities?: Partial<StoreCapabilities>;
  /** Called after each case with the store it used. */
  cleanup?: (store: S) => void | Promise<void>;
  /** Per-case timeout in ms (default 30 s: real databases under CI). */
  timeout?: number;
}

/** One conformance check, runnable with or without a test runner. */
export interface ConformanceCase {
  name: string;
  /** Capabilities without which the case is skipped (with the reason in its title). */
  requires?: ReadonlyArray<keyof StoreCapabilities>;
  /** `ctx.skip(reason)` (vitest's) skips a case the store turns out not to support (an optional method). */
  run: (ctx?: { skip: (note?: string) => void }) => Promise<void>;
}

/**
 * Registers `cases` as vitest tests under `describe(title)`. Cases whose `requires` are not met
 * are skipped, and the title says which capability is missing.
 */
export function registerCases(
  title: string,
  cases: readonly ConformanceCase[],
  capabilities: Partial<StoreCapabilities>,
  timeout = 30_000,
): void {
  describe(title, () => {
    for (const c of cases) {
      const missing = (c.requires ?? []).filter((cap) => !capabilities[cap]);
      if (missing.length > 0) it.skip(`${c.name} (skipped: store lacks ${missing.join(", ")})`, () => {});
      else it(c.name, (ctx) => c.run({ skip: (note) => ctx.skip(note) }), timeout);
    }
  });
}

/** Runs `fn` with a fresh store from `opts.create`, then the cleanup, even on failure. */
export async function withStore<S, R>(opts: ConformanceOptions<S, R>, fn: (store: S, raw: R | undefined) => Promise<void>): Promise<void> {
  const store = await opts.create();
  const raw = typeof opts.raw === "function" ? (opts.raw as (s: S) => R)(store) : opts.raw;
  try {
    await fn(store, raw);
  } finally {
    await opts.cleanup?.(store);
  }
}

let counter = 0;
/** A tenant id no other test uses, so suites can share one database. */
export function randomTenant(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${counter.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A random key for stores keyed by name (flag keys, counter keys). */
export function randomKey(prefix = "k"): string {
  return randomTenant(prefix).replace(/[^a-zA-Z0-9_]/g, "_");
}

/** Starts `n` calls at once and collects fulfilled values and rejections. */
export async function concurrently<T>(
  n: number,
  fn: (i: number) => Promise<T>,
): Promise<{
  fulfilled: T[];
  rejected: unknown[];
}> {
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => fn(i)));
  return {
    fulfilled: results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])),
    rejected: results.flatMap((r) => (r.status === "rejected" ? [r.reason] : [])),
  };
}
