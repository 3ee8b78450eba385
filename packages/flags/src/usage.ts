import type { Clock, JsonValue } from "@ops/core";
import type { FlagDefinitions } from "./define-flags.js";
import { computeStale, type StaleFlag, type StaleOptions } from "./stale.js";
import type { FlagState } from "./state.js";

/** The record where processes share when each flag was last evaluated. */
export const STATS_KEY = "$stats";

function readStats(config: JsonValue): { since: string | null; lastEvaluated: Record<string, JsonValue> } {
  const c = config && typeof config === "object" && !Array.isArray(config) ? config : {};
  const le = c.lastEvaluated;
  return {
    since: typeof c.since === "string" ? c.since : null,
    lastEvaluated: le && typeof le === "object" && !Array.isArray(le) ? le : {},
  };
}

/**
 * Turns the hot path's per-flag evaluation counters into "last evaluated at" times, off the hot
 * path (sampling when asked), and merges them with what other processes recorded in `$stats`.
 */
export class UsageTracker {
  private readonly usage = new Map<string, { count: number; at: number }>();
  private dirty = false;
  /** When usage was last flushed to the store (epoch ms). */
  lastFlush = 0;

  constructor(
    private readonly state: FlagState,
    private readonly clock: Clock,
    private readonly startedAt: number,
  ) {}

  sample(): void {
    const now = this.clock.now();
    for (const key of this.state.keys()) {
      const count = this.state.get(key)?.evaluations ?? 0;
      const u = this.usage.get(key);
      if (!u) {
        if (count > 0) {
          this.usage.set(key, { count, at: now });
          this.dirty = true;
        }
      } else if (u.count !== count) {
        u.count = count;
        u.at = now;
        this.dirty = true;
      }
    }
  }

  /** This process's last evaluation times if any changed since the last call, else null. */
  takeChanges(): Map<string, number> | null {
    this.sample();
    this.lastFlush = this.clock.now();
    if (!this.dirty) return null;
    this.dirty = false;
    return new Map([...this.usage].map(([k, u]) => [k, u.at]));
  }

  /** The `$stats` config with `mine` merged in (latest time wins per key). */
  merge(current: JsonValue, mine: ReadonlyMap<string, number>): JsonValue {
    const stats = readStats(current);
    const lastEvaluated: Record<string, JsonValue> = { ...stats.lastEvaluated };
    for (const [k, at] of mine) {
      const prev = lastEvaluated[k];
      if (typeof prev !== "string" || Date.parse(prev) < at) lastEvaluated[k] = new Date(at).toISOString();
    }
    return { kind: "usage", since: stats.since ?? new Date(this.startedAt).toISOString(), lastEvaluated };
  }

  stale(options: StaleOptions, definitions: FlagDefinitions): StaleFlag[] {
    this.sample();
    const shared = readStats(this.state.stats.record?.config ?? null);
    const sharedSince = shared.since ? Date.parse(shared.since) : Number.NaN;
    return computeStale({
      now: options.now?.getTime() ?? this.clock.now(),
      unusedForDays: options.unusedForDays ?? 30,
      // Usage is known since the earliest process that recorded it into `$stats`.
      startedAt: Number.isNaN(sharedSince) ? this.startedAt : Math.min(sharedSince, this.startedAt),
      definitions,
      globals: this.state.globals,
      configOf: (k) => this.state.configOf(k),
      lastEvaluatedAt: (k) => {
        const local = this.usage.get(k)?.at;
        const s = shared.lastEvaluated[k];
        const remote = typeof s === "string" ? Date.parse(s) : undefined;
        return local === undefined ? remote : remote === undefined ? local : Math.max(local, remote);
      },
    });
  }
}
