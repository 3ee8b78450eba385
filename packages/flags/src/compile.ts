import { ValidationError, type JsonValue } from "@ops/core";
import { createBucketer, type Bucketer, type BucketingOptions } from "./bucketing/bucketers.js";
import { jsonEqual, valueMatchesType, type FlagConfig, type Prerequisite, type Rollout, type SegmentConfig, type Serve } from "./config.js";
import { PrerequisiteCycleError } from "./prerequisites.js";
import { compileAll, type Predicate } from "./targeting/conditions.js";
import { compileAllUnleash } from "./targeting/unleash.js";
import type { EvaluationContext, EvaluationDetails, EvaluationErrorCode, EvaluationReason, FlagType } from "./types.js";

export type Details = EvaluationDetails;

interface CompiledRollout {
  /** null means the default unit: `userId`, else `targetingKey`. */
  by: string | null;
  bucketer: Bucketer;
  outcomes: readonly Details[];
}

interface CompiledRule {
  match: Predicate | null;
  fixed: Details | null;
  rollout: CompiledRollout | null;
}

/** A prerequisite compiled: the flag it names is looked up at evaluation (it may be recompiled alone). */
interface CompiledPrerequisite {
  key: string;
  variants: readonly string[] | null;
  value: JsonValue | undefined;
  negate: boolean;
  /** What the dependent flag serves when this prerequisite fails. */
  failed: Details;
}

/** Finds the current compiled flag for a prerequisite key. */
export type FlagLookup = (key: string) => CompiledFlag | undefined;

/** Prerequisite chains deeper than this fail (a cycle written by two processes at once cannot loop). */
const MAX_PREREQUISITE_DEPTH = 32;

/** A flag compiled for the hot path: every possible result is a frozen object made here. */
export interface CompiledFlag {
  readonly key: string;
  readonly type: FlagType;
  readonly enabled: boolean;
  /**
   * Served when disabled. When `offValue` / `offVariant` is not set its value is only a stand-in
   * (`callerDefaultWhenDisabled`): readers substitute the caller's default value.
   */
  readonly disabled: Details;
  readonly callerDefaultWhenDisabled: boolean;
  readonly overrides: ReadonlyMap<string, Details> | null;
  readonly prerequisites: readonly CompiledPrerequisite[] | null;
  readonly lookup: FlagLookup | null;
  readonly rules: readonly CompiledRule[];
  readonly rollout: CompiledRollout | null;
  readonly fallback: Details;
  /** Evaluations since start; sampled into "last evaluated" times off the hot path. */
  evaluations: number;
}

export function details(
  flagKey: string,
  value: JsonValue,
  reason: EvaluationReason,
  variant: string | null = null,
  ruleId: string | null = null,
  errorCode: EvaluationErrorCode | null = null,
  errorMessage: string | null = null,
): Details {
  return Object.freeze({ flagKey, value, variant, reason, ruleId, errorCode, errorMessage });
}

/** A PREREQUISITE_FAILED result naming the prerequisite. */
export function prerequisiteFailed(flagKey: string, value: JsonValue, variant: string | null, prerequisiteKey: string): Details {
  return Object.freeze({
    flagKey,
    value,
    variant,
    reason: "PREREQUISITE_FAILED" as const,
    ruleId: null,
    errorCode: null,
    errorMessage: null,
    prerequisiteKey,
  });
}

function unitOf(ctx: EvaluationContext, by: string | null): string | null {
  const v = by === null ? (ctx.userId ?? ctx.targetingKey) : ctx[by];
  if (typeof v === "string") return v.length > 0 ? v : null;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return null;
}

/** The served result of a rollout for `ctx`, or null when the unit is outside it (falls through). */
export function rollOut(r: CompiledRollout, ctx: EvaluationContext): Details | null {
  const unit = unitOf(ctx, r.by);
  if (unit === null) return null;
  const slot = r.bucketer.slot(unit);
  return slot < 0 ? null : (r.outcomes[slot] ?? null);
}

/** The stored bucketing settings as `createBucketer` options (absent fields stay absent). */
function bucketingOptions(b: NonNullable<Rollout["bucketing"]>): BucketingOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) if (v !== undefined) out[k] = v;
  return out as BucketingOptions;
}

function segmentPredicate(seg: SegmentConfig, path: string): Predicate {
  const include = new Set(seg.include);
  const exclude = new Set(seg.exclude);
  const cond = compileAll(seg.when, `${path}.when`);
  const by = seg.by === "userId" ? null : seg.by;
  return (ctx) => {
    const unit = unitOf(ctx, by);
    if (unit !== null && exclude.has(unit)) return false;
    if (unit !== null && include.has(unit)) return true;
    return cond !== null && cond(ctx);
  };
}

export interface CompileInput {
  key: string;
  config: FlagConfig;
  /**
   * Tenant id -> the TENANT_OVERRIDE result served to that tenant. Used as is (not copied): the
   * owner (`FlagState`) updates one tenant's entry in place instead of recompiling the flag.
   */
  overrides: ReadonlyMap<string, Details>;
  segments: ReadonlyMap<string, SegmentConfig>;
  /** Served when disabled and no `offValue` is set (the definition's default, else false/""/0/null). */
  offDefault: JsonValue;
  /** Resolves prerequisite keys to the current compiled flags (default: none found, so prerequisites fail). */
  lookup?: FlagLookup;
}

/**
 * Compiles a stored flag. Throws (ValidationError) for conditions that cannot compile or a
 * variant / segment that does not exist; callers turn that into an ERROR result for the flag.
 */
export function compileFlag(input: CompileInput): CompiledFlag {
  const { key, config } = input;
  const variants = config.variants ?? {};
  const typed = (v: JsonValue, path: string): JsonValue => {
    if (!valueMatchesType(config.type, v))
      throw new ValidationError(`[ops/flags] flag ${key}: ${path} must be a ${config.type}`, [
        { path, message: `expected a ${config.type}` },
      ]);
    return v;
  };
  const serveValue = (variant: string | undefined, value: JsonValue | undefined, path: string): [JsonValue, string | null] => {
    if (variant !== undefined) {
      if (!Object.hasOwn(variants, variant))
        throw new ValidationError(`[ops/flags] flag ${key}: ${path} names unknown variant "${variant}"`, [
          { path, message: "expected a variant defined in variants" },
        ]);
      return [typed(variants[variant] as JsonValue, `variants.${variant}`), variant];
    }
    return [typed(value === undefined ? true : value, `${path}.value`), null];
  };
  typed(config.value, "value");
  if (config.offValue !== undefined) typed(config.offValue, "offValue");
  const named = (name: string | undefined, value: JsonValue | undefined, field: "value" | "offValue"): string | null => {
    if (name === undefined) return null;
    const [v] = serveValue(name, undefined, field === "value" ? "defaultVariant" : "offVariant");
    if (value !== undefined && !jsonEqual(value, v))
      throw new ValidationError(`[ops/flags] flag ${key}: ${field} must equal variants.${name}`, [
        { path: field, message: `expected the value of variant "${name}"` },
      ]);
    return name;
  };
  const defaultVariant = named(config.defaultVariant, config.value, "value");
  const offVariant = named(config.offVariant, config.offValue, "offValue");
  const offValue = config.offVariant !== undefined ? (variants[config.offVariant] as JsonValue) : config.offValue;
  const rolloutOf = (r: Rollout, ruleId: string | null, path: string): CompiledRollout => {
    const isSplit = r.split !== undefined;
    const slots = r.split ?? [{ weight: r.percentage ?? 0, value: r.value, variant: r.variant }];
    const outcomes = slots.map((s, i) => {
      const [value, variant] = serveValue(s.variant, s.value, `${path}.split[${i}]`);
      return details(key, value, "SPLIT", variant, ruleId);
    });
    const b = r.bucketing;
    return {
      by: r.by === undefined || r.by === "userId" ? null : r.by,
      bucketer: createBucketer(
        key,
        slots.map((s) => s.weight),
        isSplit,
        b ? bucketingOptions(b) : {},
      ),
      outcomes,
    };
  };
  const serveOf = (s: Serve, ruleId: string, path: string): Pick<CompiledRule, "fixed" | "rollout"> => {
    if (s.rollout) return { fixed: null, rollout: rolloutOf(s.rollout, ruleId, `${path}.rollout`) };
    const [value, variant] = serveValue(s.variant, s.value, path);
    return { fixed: details(key, value, "TARGETING_MATCH", variant, ruleId), rollout: null };
  };

  const rules: CompiledRule[] = config.rules.map((rule, i) => {
    const path = `rules[${i}]`;
    const conds = config.semantics === "unleash" ? compileAllUnleash(rule.when) : compileAll(rule.when, `${path}.when`);
    const segs = rule.segments.map((name) => {
      const seg = input.segments.get(name);
      if (!seg)
        throw new ValidationError(`[ops/flags] flag ${key}: ${path}.segments names unknown segment "${name}"`, [
          { path: `${path}.segments`, message: "expected an existing segment" },
        ]);
      return segmentPredicate(seg, `segment ${name}`);
    });
    const parts = conds ? [conds, ...segs] : segs;
    const match: Predicate | null =
      parts.length === 0
        ? null
        : parts.length === 1
          ? parts[0]!
          : (ctx) => {
              for (let j = 0; j < parts.length; j++) if (!parts[j]!(ctx)) return false;
              return true;
            };
    return { match, ...serveOf(rule.serve, rule.id, path) };
  });

  const overrides = input.overrides;
  const rollout = config.rollout ? rolloutOf(config.rollout, null, "rollout") : null;
  const isStatic = rules.length === 0 && rollout === null;
  const prereqs = (config.prerequisites ?? []).map((p: Prerequisite, i): CompiledPrerequisite => {
    if (p.key === key) throw new PrerequisiteCycleError(key, [key, key], `prerequisites[${i}]`);
    return {
      key: p.key,
      variants: p.variants ?? null,
      value: p.value,
      negate: p.negate === true,
      failed: prerequisiteFailed(key, offValue ?? input.offDefault, offVariant, p.key),
    };
  });
  return {
    key,
    type: config.type,
    enabled: config.enabled,
    disabled: details(key, offValue ?? input.offDefault, "DISABLED", offVariant),
    callerDefaultWhenDisabled: offValue === undefined,
    overrides: overrides.size > 0 ? overrides : null,
    prerequisites: prereqs.length > 0 ? prereqs : null,
    lookup: prereqs.length > 0 ? (input.lookup ?? null) : null,
    rules,
    rollout,
    fallback: details(key, config.value, isStatic ? "STATIC" : "DEFAULT", defaultVariant),
    evaluations: 0,
  };
}

/**
 * A flag with only tenant overrides and a default (no stored definition), e.g. from bootstrap
 * values. `overrides` as in `CompileInput` (used as is).
 */
export function compileStatic(
  key: string,
  type: FlagType,
  value: JsonValue,
  overrides: ReadonlyMap<string, Details>,
  reason: EvaluationReason = "STATIC",
): CompiledFlag {
  const o = overrides;
  return {
    key,
    type,
    enabled: true,
    disabled: details(key, value, "DISABLED"),
    callerDefaultWhenDisabled: true,
    overrides: o.size > 0 ? o : null,
    prerequisites: null,
    lookup: null,
    rules: [],
    rollout: null,
    fallback: details(key, value, reason),
    evaluations: 0,
  };
}

/**
 * True when prerequisite `p` holds for `ctx`: its flag exists, is on (not DISABLED / ERROR) and
 * serves one of `variants` / `value` (neither: anything but `false`); `negate` inverts that, but a
 * missing flag or a chain past the depth limit always fails.
 */
function prerequisiteHolds(p: CompiledPrerequisite, lookup: FlagLookup | null, ctx: EvaluationContext, depth: number): boolean {
  const f = lookup === null ? undefined : lookup(p.key);
  if (f === undefined || depth >= MAX_PREREQUISITE_DEPTH) return false;
  const d = resolveAt(f, ctx, depth + 1);
  let on = d.reason !== "DISABLED" && d.reason !== "ERROR";
  if (on)
    on =
      p.variants !== null
        ? d.variant !== null && p.variants.includes(d.variant)
        : p.value !== undefined
          ? jsonEqual(d.value, p.value)
          : d.value !== false && d.reason !== "PREREQUISITE_FAILED";
  return on !== p.negate;
}

/**
 * THE HOT PATH. Evaluation order: kill switch -> prerequisites (as LaunchDarkly: before targets)
 * -> tenant override -> rules in order (a rule whose rollout leaves the unit out falls through)
 * -> rollout -> default. Returns a precompiled object.
 */
export function resolve(f: CompiledFlag, ctx: EvaluationContext): Details {
  return resolveAt(f, ctx, 0);
}

function resolveAt(f: CompiledFlag, ctx: EvaluationContext, depth: number): Details {
  f.evaluations++;
  if (!f.enabled) return f.disabled;
  const prereqs = f.prerequisites;
  if (prereqs !== null)
    for (let i = 0; i < prereqs.length; i++) {
      const p = prereqs[i]!;
      if (!prerequisiteHolds(p, f.lookup, ctx, depth)) return p.failed;
    }
  const overrides = f.overrides;
  if (overrides !== null) {
    const t = ctx.tenantId;
    if (typeof t === "string") {
      const o = overrides.get(t);
      if (o !== undefined) return o;
    }
  }
  const rules = f.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.match !== null && !r.match(ctx)) continue;
    if (r.fixed !== null) return r.fixed;
    const d = rollOut(r.rollout!, ctx);
    if (d !== null) return d;
  }
  if (f.rollout !== null) {
    const d = rollOut(f.rollout, ctx);
    if (d !== null) return d;
  }
  return f.fallback;
}
