import type { JsonValue } from "@ops/core";
import type { Condition, Prerequisite, Rollout, Rule } from "../config.js";
import { typeOf, type ImportResult, type ImportedFlag, type Unmapped } from "./result.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const OPS: Record<string, Condition["op"]> = {
  startsWith: "startsWith",
  endsWith: "endsWith",
  matches: "matches",
  contains: "contains",
  lessThan: "lt",
  lessThanOrEqual: "lte",
  greaterThan: "gt",
  greaterThanOrEqual: "gte",
  before: "before",
  after: "after",
  semVerEqual: "semverEq",
  semVerLessThan: "semverLt",
  semVerGreaterThan: "semverGt",
};

/** LaunchDarkly's context key is the @ops default unit. */
const attrOf = (a: string) => (a === "key" ? "userId" : a);
const variantName = (i: number) => `v${i}`;

function clause(c: Obj, path: string, flag: string, out: Unmapped[]): Condition | null {
  const attr = attrOf(String(c.attribute ?? ""));
  const op = String(c.op ?? "");
  const values = arr(c.values) as (string | number | boolean)[];
  const miss = (reason: string) => (out.push({ flag, path, reason }), null);
  if (c.contextKind !== undefined && c.contextKind !== "user") return miss(`context kind ${String(c.contextKind)} is not supported`);
  if (op === "in") return { attr, op: c.negate === true ? "notIn" : "in", values };
  if (c.negate === true) return miss(`negated ${op} has no @ops operator`);
  const mapped = OPS[op];
  if (!mapped) return miss(`operator ${op} is not supported`);
  if (values.length !== 1) return miss(`${op} with ${values.length} values (an OR) is not supported in one condition`);
  return { attr, op: mapped, value: values[0]! };
}

/**
 * Imports LaunchDarkly flags: the flag JSON of their data export / the file data source format
 * (`{ flags: { key: {...} }, flagValues: { key: value } }`). Variations become variants `v0..vN`;
 * targets and rules become rules; percentage rollouts use the `launchdarkly` bucketing mode with
 * the flag's salt and the rollout's seed, so every user keeps their variation.
 */
export function importLaunchDarkly(input: unknown): ImportResult {
  const unmapped: Unmapped[] = [];
  const root = isObj(input) ? input : {};
  const flags: ImportedFlag[] = [];
  const flagMap = isObj(root.flags) ? root.flags : {};
  for (const [key, raw] of Object.entries(flagMap)) {
    if (!isObj(raw)) continue;
    const variations = arr(raw.variations) as JsonValue[];
    const variants: Record<string, JsonValue> = {};
    variations.forEach((v, i) => (variants[variantName(i)] = v));
    const type = typeOf(variations);
    const salt = typeof raw.salt === "string" ? raw.salt : "";
    const rolloutOf = (r: Obj, path: string): Rollout | null => {
      const vs = arr(r.variations).filter(isObj);
      if (r.kind === "experiment")
        unmapped.push({ flag: key, path, reason: "experiment rollouts import as plain rollouts (untracked users are not excluded)" });
      if (r.contextKind !== undefined && r.contextKind !== "user")
        return (unmapped.push({ flag: key, path, reason: `rollout by context kind ${String(r.contextKind)} is not supported` }), null);
      return {
        by: attrOf(typeof r.bucketBy === "string" ? r.bucketBy : "key"),
        split: vs.map((v) => ({ weight: Number(v.weight ?? 0) / 1000, variant: variantName(Number(v.variation)) })),
        bucketing: { mode: "launchdarkly", ldSalt: salt, ...(typeof r.seed === "number" ? { ldSeed: r.seed } : {}) },
      };
    };
    const rules: Rule[] = [];
    for (const [i, t] of arr(raw.targets).filter(isObj).entries())
      rules.push({
        id: `target${i}`,
        when: [{ attr: "userId", op: "in", values: arr(t.values).map(String) }],
        segments: [],
        serve: { variant: variantName(Number(t.variation)) },
      });
    for (const [i, r] of arr(raw.rules).filter(isObj).entries()) {
      const path = `rules[${i}]`;
      const when: Condition[] = [];
      let ok = true;
      arr(r.clauses).forEach((c, j) => {
        const cond = isObj(c) ? clause(c, `${path}.clauses[${j}]`, key, unmapped) : null;
        if (cond) when.push(cond);
        else ok = false;
      });
      const id = typeof r.id === "string" && r.id ? r.id : `rule${i}`;
      if (!ok) {
        unmapped.push({ flag: key, path, reason: "rule dropped: a clause could not be mapped" });
        continue;
      }
      if (typeof r.variation === "number") rules.push({ id, when, segments: [], serve: { variant: variantName(r.variation) } });
      else if (isObj(r.rollout)) {
        const ro = rolloutOf(r.rollout, `${path}.rollout`);
        if (ro) rules.push({ id, when, segments: [], serve: { rollout: ro } });
      }
    }
    // LaunchDarkly: the prerequisite flag must be on and serve that variation, else the off variation.
    const prerequisites: Prerequisite[] = [];
    for (const [i, p] of arr(raw.prerequisites).entries()) {
      if (isObj(p) && typeof p.key === "string" && typeof p.variation === "number")
        prerequisites.push({ key: p.key, variants: [variantName(p.variation)] });
      else unmapped.push({ flag: key, path: `prerequisites[${i}]`, reason: "expected { key, variation }; prerequisite dropped" });
    }
    if (arr(raw.contextTargets).some((t) => isObj(t) && t.contextKind !== "user"))
      unmapped.push({ flag: key, path: "contextTargets", reason: "targets of non-user context kinds are not imported" });
    const ft = isObj(raw.fallthrough) ? raw.fallthrough : {};
    const fallVar = typeof ft.variation === "number" ? ft.variation : null;
    const fallRollout = isObj(ft.rollout) ? rolloutOf(ft.rollout, "fallthrough.rollout") : null;
    // With a fallthrough rollout, a user without a key gets the first variation (LaunchDarkly errors instead).
    const defaultIdx = fallVar ?? (isObj(ft.rollout) ? Number((arr(ft.rollout.variations)[0] as Obj | undefined)?.variation ?? 0) : 0);
    const offIdx = typeof raw.offVariation === "number" ? raw.offVariation : null;
    if (offIdx === null)
      unmapped.push({ flag: key, path: "offVariation", reason: "no offVariation: when off, the caller's default is served" });
    flags.push({
      key,
      type,
      value: variations[defaultIdx] ?? null,
      patch: {
        enabled: raw.on !== false,
        variants,
        defaultVariant: variantName(defaultIdx),
        ...(offIdx !== null ? { offVariant: variantName(offIdx) } : {}),
        ...(prerequisites.length > 0 ? { prerequisites } : {}),
        rules,
        rollout: fallRollout,
        ...(typeof raw.description === "string" && raw.description ? { description: raw.description.slice(0, 2000) } : {}),
      },
    });
  }
  const values = isObj(root.flagValues) ? root.flagValues : {};
  for (const [key, v] of Object.entries(values)) flags.push({ key, type: typeOf([v as JsonValue]), value: v as JsonValue, patch: {} });
  if (isObj(root.segments) && Object.keys(root.segments).length > 0)
    unmapped.push({ flag: "*", path: "segments", reason: "LaunchDarkly segments are not imported (segmentMatch clauses are dropped)" });
  return { source: "launchdarkly", flags, unmapped };
}
