import type { FlagRecord } from "@ops/core";
import type { FlagConfig } from "./config.js";
import type { FlagDefinitions } from "./define-flags.js";

export interface StaleOptions {
  /** A flag unchanged and unevaluated for this many days is stale (default 30). */
  unusedForDays?: number;
  now?: Date;
}

export interface StaleFlag {
  key: string;
  reasons: ("expired" | "unused")[];
  expiresAt: string | null;
  lastChangedAt: string | null;
  /** Last evaluation seen by this process, or null when none since it started. */
  lastEvaluatedAt: string | null;
  owner: string | null;
}

export function computeStale(input: {
  now: number;
  unusedForDays: number;
  startedAt: number;
  definitions: FlagDefinitions;
  globals: ReadonlyMap<string, FlagRecord>;
  configOf: (key: string) => FlagConfig | null;
  lastEvaluatedAt: (key: string) => number | undefined;
}): StaleFlag[] {
  const window = input.unusedForDays * 86_400_000;
  const keys = new Set([...Object.keys(input.definitions), ...input.globals.keys()]);
  const out: StaleFlag[] = [];
  for (const key of [...keys].sort()) {
    const config = input.configOf(key);
    const def = input.definitions[key];
    const expiresAt = config?.expiresAt ?? def?.expiresAt ?? null;
    const changed = input.globals.get(key)?.updatedAt ?? null;
    const evaluated = input.lastEvaluatedAt(key);
    const reasons: StaleFlag["reasons"] = [];
    if (expiresAt !== null && Date.parse(expiresAt) <= input.now) reasons.push("expired");
    // Unused needs evidence: this process has been watching for the whole window.
    const changedLongAgo = changed === null || Date.parse(changed) <= input.now - window;
    const watchedLongEnough = input.startedAt <= input.now - window;
    const notEvaluated = evaluated === undefined || evaluated <= input.now - window;
    if (changedLongAgo && watchedLongEnough && notEvaluated) reasons.push("unused");
    if (reasons.length > 0)
      out.push({
        key,
        reasons,
        expiresAt,
        lastChangedAt: changed,
        lastEvaluatedAt: evaluated === undefined ? null : new Date(evaluated).toISOString(),
        owner: config?.owner ?? def?.owner ?? null,
      });
  }
  return out;
}
