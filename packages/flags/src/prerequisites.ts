import { ValidationError } from "@ops/core";
import type { FlagConfig } from "./config.js";

/**
 * A write would make flags depend on each other in a circle (`a` needs `b`, `b` needs `a`).
 * Nothing was written. `cycle` is the flag path, first and last key the same; `path` the field
 * of the written flag that closes it. Code `VALIDATION`.
 */
export class PrerequisiteCycleError extends ValidationError {
  readonly cycle: readonly string[];
  constructor(key: string, cycle: readonly string[], path: string) {
    super(`[ops/flags] flag "${key}": ${path} makes a prerequisite cycle ${cycle.join(" -> ")}`, [
      { path, message: `expected no prerequisite cycle (${cycle.join(" -> ")})` },
    ]);
    this.cycle = cycle;
  }
}

/**
 * Refuses a config whose prerequisites lead back to `key`, following the other flags' stored
 * configs (`configOf`). Unknown prerequisite flags are allowed (they fail at evaluation).
 * @throws PrerequisiteCycleError naming the cycle's flag path.
 */
export function checkPrerequisiteCycles(key: string, config: FlagConfig, configOf: (key: string) => FlagConfig | null): void {
  const prereqsOf = (k: string) => (k === key ? config.prerequisites : configOf(k)?.prerequisites) ?? [];
  const direct = config.prerequisites ?? [];
  for (let i = 0; i < direct.length; i++) {
    // Depth-first from each direct prerequisite, remembering the path to report it.
    const seen = new Set<string>();
    const walk = (k: string, path: string[]): string[] | null => {
      if (k === key) return [...path, k];
      if (seen.has(k)) return null;
      seen.add(k);
      for (const p of prereqsOf(k)) {
        const found = walk(p.key, [...path, k]);
        if (found) return found;
      }
      return null;
    };
    const cycle = walk(direct[i]!.key, [key]);
    if (cycle) throw new PrerequisiteCycleError(key, cycle, `prerequisites[${i}]`);
  }
}
