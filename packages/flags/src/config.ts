import * as z from "zod";
import { JsonValueSchema, type JsonValue } from "@ops/core";
import { CONDITION_OPS } from "./targeting/ops.js";

/** Flag keys and segment names: 1..200 of `[A-Za-z0-9_.:-]`, starting with a letter or digit. */
export const FlagKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/, "expected a flag key of letters, digits and _ . : - (max 200)");

const VariantName = z.string().min(1, "expected a variant name").max(100);

export const FlagTypeSchema = z.enum(["boolean", "string", "number", "json"]);

const AttrSchema = z.string().min(1, "expected an attribute name").max(200);
const Primitive = z.union([z.string(), z.number().refine(Number.isFinite, "expected a finite number"), z.boolean()]);

/** One test on one context attribute. `values` for in / notIn / inCidr; `value` for the rest. */
export const ConditionSchema = z
  .object({
    attr: AttrSchema,
    op: z.enum(CONDITION_OPS),
    value: Primitive.optional(),
    values: z.array(Primitive).max(10_000).optional(),
    /** Unleash semantics only (`semantics: "unleash"`): Unleash's `caseInsensitive` and `inverted`. */
    caseInsensitive: z.boolean().optional(),
    inverted: z.boolean().optional(),
  })
  .strict();
export type Condition = z.infer<typeof ConditionSchema>;

/**
 * How a flag's rule conditions are evaluated: `ops` (typed comparisons, the default) or `unleash`
 * (unleash-client's constraint semantics, for flags imported from Unleash).
 */
export const SemanticsSchema = z.enum(["ops", "unleash"]);
export type Semantics = z.infer<typeof SemanticsSchema>;

export const BucketingSchema = z
  .object({
    mode: z.enum(["ops", "unleash", "growthbook", "launchdarkly", "flagd"]).default("ops"),
    salt: z.string().max(200).optional(),
    groupId: z.string().max(200).optional(),
    seed: z.string().max(200).optional(),
    hashVersion: z.union([z.literal(1), z.literal(2)]).optional(),
    /** GrowthBook's own units (see `BucketingOptions`): coverage 0..1, weights as fractions, ranges [start, end). */
    coverage: z.number().min(0).max(1).optional(),
    weights: z.array(z.number().min(0).max(1)).max(100).optional(),
    range: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).optional(),
    ranges: z
      .array(z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]))
      .max(100)
      .optional(),
    ldSalt: z.string().max(200).optional(),
    ldSeed: z.number().int().optional(),
    /** flagd's fractional weights (integers, any total) and hash (`utf8` per spec, `js` as @openfeature/flagd-core). */
    flagdWeights: z.array(z.number().int().min(0).max(2147483647)).max(100).optional(),
    flagdHash: z.enum(["utf8", "js"]).optional(),
  })
  .strict();

const Percent = z.number().min(0, "expected a percentage >= 0").max(100, "expected a percentage <= 100");

/**
 * A percentage rollout (serve `value`/`variant`, default `true`, to `percentage`% of units) or a
 * weighted split (`split`, weights in percent summing to <= 100). Units outside fall through.
 */
export const RolloutSchema = z
  .object({
    by: AttrSchema.optional(),
    bucketing: BucketingSchema.optional(),
    percentage: Percent.optional(),
    value: JsonValueSchema.optional(),
    variant: z.string().min(1).optional(),
    split: z
      .array(z.object({ weight: Percent, value: JsonValueSchema.optional(), variant: z.string().min(1).optional() }).strict())
      .min(1)
      .max(100)
      .optional(),
  })
  .strict()
  .refine((r) => (r.percentage === undefined) !== (r.split === undefined), "expected exactly one of percentage or split")
  .refine((r) => !r.split || r.split.reduce((s, x) => s + x.weight, 0) <= 100.000001, "expected split weights summing to <= 100");
export type Rollout = z.infer<typeof RolloutSchema>;

/** What a rule serves: a value, a named variant, or a rollout. */
export const ServeSchema = z
  .object({ value: JsonValueSchema.optional(), variant: z.string().min(1).optional(), rollout: RolloutSchema.optional() })
  .strict()
  .refine(
    (s) => [s.value !== undefined, s.variant !== undefined, s.rollout !== undefined].filter(Boolean).length === 1,
    "expected exactly one of value, variant or rollout",
  );
export type Serve = z.infer<typeof ServeSchema>;

/** All `when` conditions and all `segments` must match (AND). */
export const RuleSchema = z
  .object({
    id: z.string().min(1).max(100),
    description: z.string().max(1000).optional(),
    when: z.array(ConditionSchema).max(100).default([]),
    segments: z.array(FlagKeySchema).max(20).default([]),
    serve: ServeSchema,
  })
  .strict();
export type Rule = z.infer<typeof RuleSchema>;

/**
 * A prerequisite: the flag serves its rules only when flag `key` (evaluated for the same context)
 * is on and serves one of `variants` (LaunchDarkly's prerequisite variation), or `value`; with
 * neither, when it serves anything but `false`. `negate` inverts the test (Unleash's dependency
 * `enabled: false`: the parent must be off). A disabled, missing or erroring prerequisite flag is
 * never on. When a prerequisite fails the flag serves its off value with reason
 * `PREREQUISITE_FAILED`.
 */
export const PrerequisiteSchema = z
  .object({
    key: FlagKeySchema,
    variants: z.array(VariantName).min(1).max(100).optional(),
    value: JsonValueSchema.optional(),
    negate: z.boolean().optional(),
  })
  .strict()
  .refine((p) => p.variants === undefined || p.value === undefined, "expected variants or value, not both");
export type Prerequisite = z.infer<typeof PrerequisiteSchema>;

const IsoTime = z.iso.datetime({ offset: true, message: "expected an ISO-8601 date-time" });

/** The editable part of a flag: what `updateFlag` and scheduled changes patch. */
export const FlagPatchSchema = z
  .object({
    enabled: z.boolean().optional(),
    value: JsonValueSchema.optional(),
    offValue: JsonValueSchema.optional(),
    defaultVariant: VariantName.nullable().optional(),
    offVariant: VariantName.nullable().optional(),
    variants: z.record(VariantName, JsonValueSchema).optional(),
    semantics: SemanticsSchema.optional(),
    prerequisites: z.array(PrerequisiteSchema).max(50).optional(),
    rules: z.array(RuleSchema).max(200).optional(),
    rollout: RolloutSchema.nullable().optional(),
    description: z.string().max(2000).optional(),
    owner: z.string().max(200).optional(),
    expiresAt: IsoTime.nullable().optional(),
  })
  .strict();
export type FlagPatch = z.input<typeof FlagPatchSchema>;

export const ScheduledChangeSchema = z
  .object({ id: z.string().min(1), at: IsoTime, actor: z.string().min(1), reason: z.string().min(1), patch: FlagPatchSchema })
  .strict();
export type ScheduledChange = z.infer<typeof ScheduledChangeSchema>;

/** The JSON stored in a flag's global record (`FlagRecord.config`). */
export const FlagConfigSchema = z
  .object({
    type: FlagTypeSchema,
    /**
     * The kill switch: false serves the caller's default to everyone (reason DISABLED, no
     * variant), or `offValue` / `offVariant` when one is set.
     */
    enabled: z.boolean().default(true),
    value: JsonValueSchema,
    offValue: JsonValueSchema.optional(),
    /** Names `value` after one of `variants` (whose value it then is). */
    defaultVariant: VariantName.optional(),
    /** Served (named) when the flag is disabled, instead of the caller's default. */
    offVariant: VariantName.optional(),
    variants: z.record(VariantName, JsonValueSchema).optional(),
    /** How rules' conditions are evaluated (default `ops`; `unleash` for imported Unleash flags). */
    semantics: SemanticsSchema.optional(),
    /** Flags that must be on (or serve a given variant / value) for this one to serve its rules. */
    prerequisites: z.array(PrerequisiteSchema).max(50).optional(),
    rules: z.array(RuleSchema).max(200).default([]),
    rollout: RolloutSchema.nullable().optional(),
    description: z.string().max(2000).optional(),
    owner: z.string().max(200).optional(),
    expiresAt: IsoTime.nullable().optional(),
    schedule: z.array(ScheduledChangeSchema).max(100).optional(),
  })
  .strict();
export type FlagConfig = z.infer<typeof FlagConfigSchema>;

/** The JSON stored in a tenant's override record. */
export const TenantOverrideSchema = z.object({ value: JsonValueSchema }).strict();
export type TenantOverride = z.infer<typeof TenantOverrideSchema>;

/** A reusable audience, stored at key `$segment:<name>`: explicit units, exclusions, conditions. */
export const SegmentConfigSchema = z
  .object({
    kind: z.literal("segment"),
    description: z.string().max(2000).optional(),
    by: AttrSchema.default("userId"),
    include: z.array(z.string()).max(100_000).default([]),
    exclude: z.array(z.string()).max(100_000).default([]),
    when: z.array(ConditionSchema).max(100).default([]),
  })
  .strict();
export type SegmentConfig = z.infer<typeof SegmentConfigSchema>;
export type SegmentInput = z.input<typeof SegmentConfigSchema>;

export const SEGMENT_PREFIX = "$segment:";

/** True when `value` has the JSON shape of `type`. */
export function valueMatchesType(type: z.infer<typeof FlagTypeSchema>, value: JsonValue): boolean {
  switch (type) {
    case "boolean":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    default:
      return true;
  }
}

export function inferType(value: JsonValue): z.infer<typeof FlagTypeSchema> {
  return typeof value === "boolean" ? "boolean" : typeof value === "string" ? "string" : typeof value === "number" ? "number" : "json";
}

/** Deep equality of two JSON values (object key order ignored). */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as JsonValue[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i] as JsonValue));
  }
  const ao = a as Record<string, JsonValue>;
  const bo = b as Record<string, JsonValue>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k] as JsonValue, bo[k] as JsonValue));
}
