import type { FlagConfig, FlagPatch } from "./config.js";

/** A flag config with `patch` applied (absent fields keep their value; `null` clears optional ones). */
export function applyPatch(base: FlagConfig, patch: FlagPatch): FlagConfig {
  const next: FlagConfig = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null && (k === "rollout" || k === "expiresAt")) delete (next as Record<string, unknown>)[k];
    else (next as Record<string, unknown>)[k] = v;
  }
  return next;
}

/** Epoch ms of the earliest pending scheduled change among `configs`, or null. */
export function nextScheduledAt(configs: readonly (FlagConfig | null)[]): number | null {
  let min: number | null = null;
  for (const c of configs)
    for (const s of c?.schedule ?? []) {
      const t = Date.parse(s.at);
      if (min === null || t < min) min = t;
    }
  return min;
}
