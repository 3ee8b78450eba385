import type { JsonValue } from "@ops/core";
import type { Condition, FlagPatch } from "../config.js";
import type { FlagType } from "../types.js";

/** One flag ready to write: its type, default value and the rest of its config. */
export interface ImportedFlag {
  key: string;
  type: FlagType;
  value: JsonValue;
  patch: FlagPatch;
}

/** Something of the source that has no exact @ops equivalent: the flag still imports without it. */
export interface Unmapped {
  flag: string;
  /** Where in the source (e.g. `strategies[1].constraints[0]`). */
  path: string;
  reason: string;
}

export interface ImportResult {
  source: "unleash" | "launchdarkly" | "flagd";
  flags: ImportedFlag[];
  /** What could not be mapped: rules dropped or changed. Review before applying. */
  unmapped: Unmapped[];
}

export type ImportCondition = Condition;

/** Splits "a, b ,c" lists the way Unleash strategy parameters are written. */
export function csv(v: unknown): string[] {
  return typeof v === "string"
    ? v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
    : [];
}

export function typeOf(values: readonly JsonValue[]): FlagType {
  if (values.length > 0 && values.every((v) => typeof v === "boolean")) return "boolean";
  if (values.length > 0 && values.every((v) => typeof v === "string")) return "string";
  if (values.length > 0 && values.every((v) => typeof v === "number")) return "number";
  return "json";
}
