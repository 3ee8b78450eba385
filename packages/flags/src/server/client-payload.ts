import { ValidationError, type FlagRecord, type JsonValue } from "@ops/core";
import type { BucketingOptions } from "../bucketing/bucketers.js";
import { rollOut, type CompiledFlag, type Details } from "../compile.js";
import { SegmentConfigSchema, type Condition, type FlagConfig, type Rollout, type SegmentConfig } from "../config.js";
import type { FlagReader } from "../reader.js";
import { compileCondition, type Predicate } from "../targeting/conditions.js";
import type { EvaluationContext } from "../types.js";
import type { ClientFlag, ClientPayload, ClientResult, ClientRollout, ClientRule } from "../client/payload.js";

export interface ClientPayloadOptions {
  /** Which flags the client may see: a list of keys, or a predicate. Default: every flag. */
  flags?: readonly string[] | ((key: string) => boolean);
  /**
   * Attributes the client sets itself at evaluation time (the page, the screen, the app version).
   * Conditions on them stay in the payload; conditions on every other attribute are decided here.
   * `userId`, `targetingKey` and `tenantId` cannot be client attributes.
   */
  clientAttributes?: readonly string[];
  /**
   * Attributes that never leave the server. Conditions on them are always decided here, and a
   * rollout keyed by one is bucketed here. (Attributes no client rule needs are never sent anyway.)
   */
  privateAttributes?: readonly string[];
  /** How long the client may use the payload (default 3 600 000 ms). */
  ttlMs?: number;
  /** Epoch ms (default: now). */
  now?: number;
}

const IDENTITY = new Set(["userId", "targetingKey", "tenantId"]);
const KNOWN = {
  config: new Set([
    "type",
    "enabled",
    "value",
    "offValue",
    "defaultVariant",
    "offVariant",
    "variants",
    "prerequisites",
    "rules",
    "rollout",
    "description",
    "owner",
    "expiresAt",
    "schedule",
  ]),
  rule: new Set(["id", "description", "when", "segments", "serve"]),
  serve: new Set(["value", "variant", "rollout"]),
  rollout: new Set(["by", "bucketing", "percentage", "value", "variant", "split"]),
  condition: new Set(["attr", "op", "value", "values"]),
};

function only(o: object, known: Set<string>): boolean {
  for (const k of Object.keys(o)) if (!known.has(k)) return false;
  return true;
}

/** True when every part of the config is something this builder knows how to hand to the client. */
function understood(c: FlagConfig): boolean {
  if (!only(c, KNOWN.config)) return false;
  const rollOk = (r: Rollout | null | undefined) => !r || only(r, KNOWN.rollout);
  if (!rollOk(c.rollout)) return false;
  for (const r of c.rules) {
    if (!only(r, KNOWN.rule) || !only(r.serve, KNOWN.serve) || !rollOk(r.serve.rollout)) return false;
    for (const w of r.when) if (!only(w, KNOWN.condition)) return false;
  }
  return true;
}

const parsedCache = new WeakMap<FlagRecord, FlagConfig | null>();

/** A segment with its member lists as sets, parsed once per stored version. */
interface Segment {
  config: SegmentConfig;
  include: ReadonlySet<string>;
  exclude: ReadonlySet<string>;
}
const segmentCache = new WeakMap<FlagRecord, Segment | null>();

function segmentsOf(records: ReadonlyMap<string, FlagRecord>): Map<string, Segment> {
  const out = new Map<string, Segment>();
  for (const [name, rec] of records) {
    let seg = segmentCache.get(rec);
    if (seg === undefined) {
      const parsed = SegmentConfigSchema.safeParse(rec.config);
      seg = parsed.success ? { config: parsed.data, include: new Set(parsed.data.include), exclude: new Set(parsed.data.exclude) } : null;
      segmentCache.set(rec, seg);
    }
    if (seg) out.set(name, seg);
  }
  return out;
}

function toResult(d: Details): ClientResult {
  const r: ClientResult = { value: d.value, variant: d.variant, reason: d.reason, ruleId: d.ruleId };
  if (d.prerequisiteKey !== undefined) r.prerequisiteKey = d.prerequisiteKey;
  return r;
}

/** True when `key`'s result can change with a client attribute (its conditions, segments' or prerequisites'). */
function usesClientAttrs(
  state: FlagReader["localState"],
  key: string,
  clientAttrs: ReadonlySet<string>,
  seen = new Set<string>(),
): boolean {
  if (clientAttrs.size === 0 || seen.has(key)) return false;
  seen.add(key);
  const config = state.configOf(key);
  if (config === null) return false;
  const segs = state.segmentConfigs();
  const byAttr = (r: Rollout | null | undefined) => r?.by !== undefined && clientAttrs.has(r.by);
  if (byAttr(config.rollout)) return true;
  for (const r of config.rules) {
    if (r.when.some((c) => clientAttrs.has(c.attr)) || byAttr(r.serve.rollout)) return true;
    for (const name of r.segments) {
      const seg = segs.get(name);
      if (seg && (clientAttrs.has(seg.by) || seg.when.some((c) => clientAttrs.has(c.attr)))) return true;
    }
  }
  return (config.prerequisites ?? []).some((p) => usesClientAttrs(state, p.key, clientAttrs, seen));
}

function unitAttr(ctx: EvaluationContext, by: string | null): string {
  if (by !== null) return by;
  return ctx.userId !== undefined && ctx.userId !== null ? "userId" : "targetingKey";
}

/**
 * Builds the payload `@ops/flags/client` evaluates for ONE tenant + user context: the kill switch,
 * the tenant's override, segment membership and every condition on a non-client attribute are
 * decided here; what is left are conditions on client attributes and rollouts the client buckets
 * with the same code as the server. Other tenants' overrides, segment member lists and private
 * attributes never leave the server. Flags using features the client does not know (newer config
 * fields) are decided here for this context.
 * @throws ValidationError for an identity or private attribute listed as a client attribute.
 */
export function buildClientPayload(reader: FlagReader, context: EvaluationContext, options: ClientPayloadOptions = {}): ClientPayload {
  const clientAttrs = new Set(options.clientAttributes ?? []);
  const priv = new Set(options.privateAttributes ?? []);
  for (const a of clientAttrs) {
    if (IDENTITY.has(a) || priv.has(a))
      throw new ValidationError(`[ops/flags] clientAttributes: "${a}" cannot be set by the client (identity or private attribute)`, [
        { path: "clientAttributes", message: "expected attributes other than userId, targetingKey, tenantId and private ones" },
      ]);
  }
  const state = reader.localState;
  const tenantId = typeof context.tenantId === "string" ? context.tenantId : null;
  const sent: Record<string, JsonValue> = {};
  const ship = (attr: string) => {
    const v = context[attr];
    if (v === undefined || priv.has(attr)) return;
    sent[attr] = v instanceof Date ? v.toISOString() : (v as JsonValue);
  };
  for (const a of clientAttrs) ship(a);
  let segments: Map<string, Segment> | null = null;
  const include = options.flags;
  const wanted = (k: string) =>
    !k.startsWith("$") && (include === undefined || (typeof include === "function" ? include(k) : include.includes(k)));

  const flags: Record<string, ClientFlag> = {};
  // In key order, whatever order the local copy holds them in (a reload reads the store in key
  // order, incremental changes append): the same decisions make the same payload and ETag, so a
  // reload that changes nothing sends nothing and an ETag poll answers 304.
  for (const key of [...state.keys()].sort()) {
    if (!wanted(key)) continue;
    const compiled = state.get(key);
    if (!compiled) continue;
    const fixed = (): ClientFlag => {
      const d = reader.evaluate(key, context);
      const standIn = compiled.callerDefaultWhenDisabled && (d.reason === "DISABLED" || d.reason === "PREREQUISITE_FAILED");
      return standIn ? { fixed: toResult(d), callerDefault: true } : { fixed: toResult(d) };
    };
    const rec = state.globals.get(key);
    if (!rec || !compiled.enabled || (tenantId !== null && compiled.overrides?.has(tenantId))) {
      flags[key] = fixed();
      continue;
    }
    if (compiled.prerequisites !== null) {
      // Prerequisites are decided here for this context: a failure is the result; a pass lets the
      // client evaluate the rest, unless a prerequisite's own result depends on client attributes.
      const d = state.evaluate(key, context, true);
      const seen = new Set([key]);
      if (d.reason === "PREREQUISITE_FAILED" || compiled.prerequisites.some((p) => usesClientAttrs(state, p.key, clientAttrs, seen))) {
        flags[key] = fixed();
        continue;
      }
    }
    let config = parsedCache.get(rec);
    if (config === undefined) {
      config = state.configOf(key);
      parsedCache.set(rec, config);
    }
    if (config === null || !understood(config)) {
      flags[key] = fixed();
      continue;
    }
    segments ??= segmentsOf(state.segments);
    const built = partial(key, config, compiled, context, clientAttrs, priv, segments, ship);
    flags[key] = built ?? fixed();
  }
  const now = options.now ?? Date.now();
  return {
    v: 1,
    env: reader.env,
    subject: { tenantId, unit: unitOf(context) },
    context: sent,
    clientAttributes: [...clientAttrs],
    flags,
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + (options.ttlMs ?? 3_600_000)).toISOString(),
  };
}

function unitOf(ctx: EvaluationContext): string | null {
  const v = ctx.userId ?? ctx.targetingKey;
  return typeof v === "string" && v.length > 0 ? v : typeof v === "number" ? String(v) : null;
}

/** Partially evaluates one flag; null when it must be decided whole on the server. */
function partial(
  key: string,
  config: FlagConfig,
  compiled: CompiledFlag,
  ctx: EvaluationContext,
  clientAttrs: ReadonlySet<string>,
  priv: ReadonlySet<string>,
  segments: ReadonlyMap<string, Segment>,
  ship: (attr: string) => void,
): ClientFlag | null {
  const variants = config.variants ?? {};
  const servedOf = (variant: string | undefined, value: JsonValue | undefined): [JsonValue, string | null] =>
    variant !== undefined ? [variants[variant] as JsonValue, variant] : [value === undefined ? true : value, null];
  /** Decides a condition here (true/false) or keeps it for the client (null). */
  const decide = (c: Condition): boolean | null => (clientAttrs.has(c.attr) ? null : predicateOf(c)(ctx));
  /** A rollout for the client, or `"here"` when its unit is private. */
  const rolloutFor = (r: Rollout, ruleId: string | null): ClientRollout | "here" => {
    const by = r.by === undefined || r.by === "userId" ? null : r.by;
    const attr = unitAttr(ctx, by);
    if (priv.has(attr)) return "here";
    ship(attr);
    const isSplit = r.split !== undefined;
    const slots = r.split ?? [{ weight: r.percentage ?? 0, value: r.value, variant: r.variant }];
    const bucketing: BucketingOptions = {};
    for (const [k, v] of Object.entries(r.bucketing ?? {})) if (v !== undefined) (bucketing as Record<string, unknown>)[k] = v;
    return {
      by,
      isSplit,
      weights: slots.map((s) => s.weight),
      bucketing,
      outcomes: slots.map((s) => {
        const [value, variant] = servedOf(s.variant, s.value);
        return { value, variant, reason: "SPLIT", ruleId };
      }),
    };
  };

  const rules: ClientRule[] = [];
  let closed = false;
  for (let i = 0; i < config.rules.length && !closed; i++) {
    const rule = config.rules[i]!;
    const when: Condition[] = [];
    let possible = true;
    for (const c of rule.when) {
      const d = decide(c);
      if (d === false) possible = false;
      else if (d === null) when.push(c);
      if (!possible) break;
    }
    for (const name of rule.segments) {
      if (!possible) break;
      const found = segments.get(name);
      if (!found) return null;
      const seg = found.config;
      const segBy = seg.by === "userId" ? null : seg.by;
      if (segBy !== null && clientAttrs.has(segBy)) return null;
      const unit = unitOfBy(ctx, segBy);
      if (unit !== null && found.exclude.has(unit)) possible = false;
      else if (unit !== null && found.include.has(unit)) continue;
      else if (seg.when.length === 0) possible = false;
      else
        for (const c of seg.when) {
          const d = decide(c);
          if (d === false) {
            possible = false;
            break;
          }
          if (d === null) when.push(c);
        }
    }
    if (!possible) continue;
    for (const c of when) ship(c.attr);
    if (rule.serve.rollout) {
      const r = rolloutFor(rule.serve.rollout, rule.id);
      if (r === "here") {
        // Bucketed here with the server's own compiled rollout; conditions left stay with the client.
        const d = rollOut((compiled.rules[i] as { rollout: Parameters<typeof rollOut>[0] }).rollout, ctx);
        if (d === null) continue;
        rules.push({ id: rule.id, when, serve: toResult(d), rollout: null });
      } else rules.push({ id: rule.id, when, serve: null, rollout: r });
    } else {
      const [value, variant] = servedOf(rule.serve.variant, rule.serve.value);
      rules.push({ id: rule.id, when, serve: { value, variant, reason: "TARGETING_MATCH", ruleId: rule.id }, rollout: null });
    }
    const last = rules[rules.length - 1]!;
    if (last.when.length === 0 && last.serve !== null) closed = true;
  }
  let rollout: ClientRollout | null = null;
  if (!closed && config.rollout) {
    const r = rolloutFor(config.rollout, null);
    if (r === "here") {
      const d = rollOut(compiled.rollout!, ctx);
      if (d !== null) rules.push({ id: "", when: [], serve: toResult(d), rollout: null });
    } else rollout = r;
  }
  const fallback = toResult(compiled.fallback);
  const first = rules[0];
  if (first && first.when.length === 0 && first.serve !== null) return { fixed: first.serve };
  if (rules.length === 0 && rollout === null) return { fixed: fallback };
  return { rules, rollout, fallback };
}

const predicates = new WeakMap<Condition, Predicate>();

/** Conditions belong to cached parsed configs, so each compiles once per stored version. */
function predicateOf(c: Condition): Predicate {
  let p = predicates.get(c);
  if (p === undefined) predicates.set(c, (p = compileCondition(c)));
  return p;
}

function unitOfBy(ctx: EvaluationContext, by: string | null): string | null {
  const v = by === null ? (ctx.userId ?? ctx.targetingKey) : ctx[by];
  if (typeof v === "string") return v.length > 0 ? v : null;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return null;
}
