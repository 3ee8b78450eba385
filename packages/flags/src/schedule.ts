import type { JsonValue } from "@ops/core";
import { jsonEqual, type FlagConfig, type FlagPatch } from "./config.js";

const NULL_CLEARS = new Set(["rollout", "expiresAt", "defaultVariant", "offVariant"]);

/**
 * A flag config with `patch` applied (absent fields keep their value; `null` clears optional ones).
 * Named values stay consistent: naming `defaultVariant` / `offVariant` (or changing `variants`)
 * takes the variant's value; setting `value` / `offValue` to something else drops the name.
 */
export function applyPatch(base: FlagConfig, patch: FlagPatch): FlagConfig {
  const next: FlagConfig = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null && NULL_CLEARS.has(k)) delete (next as Record<string, unknown>)[k];
    else (next as Record<string, unknown>)[k] = v;
  }
  const variants = next.variants ?? {};
  const named = (name: string | undefined): name is string => name !== undefined && Object.hasOwn(variants, name);
  if (named(next.defaultVariant)) {
    const v = variants[next.defaultVariant] as JsonValue;
    if (patch.value === undefined || patch.defaultVariant) next.value = v;
    else if (!jsonEqual(next.value, v)) delete next.defaultVariant;
  }
  if (named(next.offVariant)) {
    const v = variants[next.offVariant] as JsonValue;
    if (patch.offValue === undefined || patch.offVariant) next.offValue = v;
    else if (!jsonEqual(next.offValue ?? null, v)) delete next.offVariant;
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
