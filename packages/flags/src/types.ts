import type { JsonValue, TenantKey } from "@ops/core";

/** The four value types a flag can have. */
export type FlagType = "boolean" | "string" | "number" | "json";

/** TypeScript type of a flag's value, by its `FlagType`. */
export type FlagValueOf<T extends FlagType> = T extends "boolean"
  ? boolean
  : T extends "string"
    ? string
    : T extends "number"
      ? number
      : JsonValue;

/**
 * Who is asking. Flat, like OpenFeature's context: `userId` (or `targetingKey`) is the default
 * bucketing unit, `tenantId` selects a tenant override, every other key is an attribute rules can
 * test. Values of type string, number, boolean, Date or string[] are understood.
 */
export interface EvaluationContext {
  userId?: string;
  targetingKey?: string;
  tenantId?: TenantKey;
  [attribute: string]: unknown;
}

/**
 * Why a value was served. OpenFeature's reasons plus TENANT_OVERRIDE and PREREQUISITE_FAILED (a
 * prerequisite flag was off or served another variant; the reason string LaunchDarkly reports).
 */
export type EvaluationReason =
  | "STATIC"
  | "DEFAULT"
  | "TARGETING_MATCH"
  | "SPLIT"
  | "DISABLED"
  | "ERROR"
  | "TENANT_OVERRIDE"
  | "PREREQUISITE_FAILED";

/** OpenFeature's error codes. */
export type EvaluationErrorCode = "FLAG_NOT_FOUND" | "TYPE_MISMATCH" | "PARSE_ERROR" | "PROVIDER_NOT_READY" | "GENERAL";

/**
 * The result of `evaluate`. Objects are precompiled and frozen: the hot path returns one without
 * allocating, so never mutate it.
 */
export interface EvaluationDetails<V = JsonValue> {
  readonly flagKey: string;
  readonly value: V;
  /** The variant name when the value came from a named variant, else null. */
  readonly variant: string | null;
  readonly reason: EvaluationReason;
  /** The id of the rule that decided, else null. */
  readonly ruleId: string | null;
  readonly errorCode: EvaluationErrorCode | null;
  readonly errorMessage: string | null;
  /** With reason PREREQUISITE_FAILED: the key of the first prerequisite that failed. */
  readonly prerequisiteKey?: string;
}
