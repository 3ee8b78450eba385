import type { JsonValue } from "@ops/core";
import { createBucketer, type Bucketer } from "../bucketing/bucketers.js";
import { compileAll, type Predicate } from "../targeting/conditions.js";
import type { EvaluationContext, EvaluationDetails } from "../types.js";
import type { ClientFlag, ClientResult, ClientRollout } from "./payload.js";

interface Rollout {
  by: string | null;
  bucketer: Bucketer;
  outcomes: readonly EvaluationDetails[];
}

interface Rule {
  match: Predicate | null;
  fixed: EvaluationDetails | null;
  rollout: Rollout | null;
}

/** A payload flag compiled once for synchronous evaluation. */
export interface CompiledClientFlag {
  readonly fixed: EvaluationDetails | null;
  readonly rules: readonly Rule[];
  readonly rollout: Rollout | null;
  readonly fallback: EvaluationDetails;
  /** `fixed` is a disabled flag's stand-in: the caller's default replaces it (see `ClientFlag.callerDefault`). */
  readonly callerDefault: boolean;
}

function result(key: string, r: ClientResult): EvaluationDetails {
  return Object.freeze({
    flagKey: key,
    value: r.value,
    variant: r.variant,
    reason: r.reason,
    ruleId: r.ruleId,
    errorCode: null,
    errorMessage: null,
    ...(r.prerequisiteKey !== undefined ? { prerequisiteKey: r.prerequisiteKey } : {}),
  });
}

function rolloutOf(key: string, r: ClientRollout): Rollout {
  return { by: r.by, bucketer: createBucketer(key, r.weights, r.isSplit, r.bucketing), outcomes: r.outcomes.map((o) => result(key, o)) };
}

/**
 * Compiles one payload flag with the server's condition compiler and bucketers, so a condition or
 * a bucket can never differ between server and client.
 * @throws ValidationError for a condition that does not compile (a payload from another version).
 */
export function compileClientFlag(key: string, flag: ClientFlag): CompiledClientFlag {
  const fallback = result(key, flag.fallback ?? flag.fixed ?? { value: null, variant: null, reason: "DEFAULT", ruleId: null });
  return {
    fixed: flag.fixed ? result(key, flag.fixed) : null,
    rules: (flag.rules ?? []).map((r, i) => ({
      match: compileAll(r.when, `flags.${key}.rules[${i}].when`),
      fixed: r.serve ? result(key, r.serve) : null,
      rollout: r.rollout ? rolloutOf(key, r.rollout) : null,
    })),
    rollout: flag.rollout ? rolloutOf(key, flag.rollout) : null,
    fallback,
    callerDefault: flag.callerDefault === true,
  };
}

function unitOf(ctx: EvaluationContext, by: string | null): string | null {
  const v = by === null ? (ctx.userId ?? ctx.targetingKey) : ctx[by];
  if (typeof v === "string") return v.length > 0 ? v : null;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return null;
}

function rollOut(r: Rollout, ctx: EvaluationContext): EvaluationDetails | null {
  const unit = unitOf(ctx, r.by);
  if (unit === null) return null;
  const slot = r.bucketer.slot(unit);
  return slot < 0 ? null : (r.outcomes[slot] ?? null);
}

/** The same order as the server's `resolve`, over what the server left for the client. */
export function resolveClientFlag(f: CompiledClientFlag, ctx: EvaluationContext): EvaluationDetails {
  if (f.fixed !== null) return f.fixed;
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
