import type { JsonValue } from "@ops/core";
import type { Condition, Rollout, Rule } from "../config.js";
import { typeOf, type ImportResult, type ImportedFlag, type Unmapped } from "./result.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const CMP: Record<string, Condition["op"]> = {
  "==": "eq",
  "===": "eq",
  "!=": "neq",
  "!==": "neq",
  "<": "lt",
  "<=": "lte",
  ">": "gt",
  ">=": "gte",
  starts_with: "startsWith",
  ends_with: "endsWith",
};
const SEMVER: Record<string, Condition["op"]> = { "=": "semverEq", ">": "semverGt", ">=": "semverGte", "<": "semverLt", "<=": "semverLte" };

const varOf = (v: unknown): string | null => {
  if (!isObj(v) || !("var" in v)) return null;
  const name = Array.isArray(v.var) ? v.var[0] : v.var;
  if (typeof name !== "string") return null;
  return name === "targetingKey" ? "targetingKey" : name;
};

/** One JsonLogic test as @ops conditions (AND), or null when it has no exact equivalent. */
function test(logic: unknown): Condition[] | null {
  if (!isObj(logic)) return null;
  const [op, args] = Object.entries(logic)[0] ?? [];
  if (!op || !Array.isArray(args)) return null;
  if (op === "and") {
    const parts = args.map(test);
    return parts.every((p) => p !== null) ? (parts.flat() as Condition[]) : null;
  }
  if (op in CMP && args.length === 2) {
    const attr = varOf(args[0]);
    const value = args[1];
    if (attr && (typeof value === "string" || typeof value === "number" || typeof value === "boolean"))
      return [{ attr, op: CMP[op]!, value }];
    return null;
  }
  if (op === "in" && args.length === 2) {
    const attr = varOf(args[0]);
    if (attr && Array.isArray(args[1])) return [{ attr, op: "in", values: args[1] as (string | number | boolean)[] }];
    const inAttr = varOf(args[1]);
    if (inAttr && typeof args[0] === "string") return [{ attr: inAttr, op: "contains", value: args[0] }];
    return null;
  }
  if (op === "sem_ver" && args.length === 3) {
    const attr = varOf(args[0]);
    const o = SEMVER[String(args[1])];
    if (attr && o && typeof args[2] === "string") return [{ attr, op: o, value: args[2] }];
  }
  return null;
}

/**
 * A JsonLogic `fractional` as a split rollout in the `flagd` bucketing mode (same buckets as
 * flagd), undefined when `logic` is not one, null when it cannot be mapped (reported).
 */
function fractionalOf(
  logic: unknown,
  key: string,
  variants: Record<string, JsonValue>,
  hash: "utf8" | "js",
  unmapped: Unmapped[],
  path: string,
): Rollout | null | undefined {
  if (!isObj(logic) || !Array.isArray(logic.fractional)) return undefined;
  let args: unknown[] = logic.fractional;
  let by = "targetingKey";
  let salt = key;
  const miss = (reason: string) => (unmapped.push({ flag: key, path, reason }), null);
  if (args.length > 0 && !Array.isArray(args[0])) {
    // A custom bucketing value: `{ cat: [ {var: "$flagd.flagKey"} | "literal", ..., {var: attr} ] }` or `{ var: attr }`.
    const b = args[0];
    args = args.slice(1);
    const parts = isObj(b) && Array.isArray(b.cat) ? (b.cat as unknown[]) : [b];
    let prefix = "";
    let attr: string | null = null;
    for (let i = 0; i < parts.length; i++) {
      const name = varOf(parts[i]);
      if (i === parts.length - 1 && name !== null && name !== "$flagd.flagKey") attr = name;
      else if (name === "$flagd.flagKey") prefix += key;
      else if (typeof parts[i] === "string") prefix += parts[i] as string;
      else return miss("fractional bucketing value is not a cat of the flag key / strings and one attribute; rule dropped");
    }
    if (attr === null) return miss("fractional bucketing value names no context attribute; rule dropped");
    by = attr;
    salt = prefix;
    if (parts.length > 1)
      unmapped.push({
        flag: key,
        path,
        reason: `a context without "${attr}" is hashed as "${prefix}" alone by flagd; here it gets the default variant`,
      });
  }
  const weights: number[] = [];
  const names: string[] = [];
  for (const e of args) {
    const [variant, weight = 1] = Array.isArray(e) ? (e as unknown[]) : [];
    if (typeof variant !== "string" || !Object.hasOwn(variants, variant) || typeof weight !== "number" || !Number.isInteger(weight))
      return miss("fractional entry is not [variant, integer weight] of a defined variant; rule dropped");
    names.push(variant);
    weights.push(Math.max(0, weight));
  }
  const total = weights.reduce((a, w) => a + w, 0);
  if (names.length === 0 || total <= 0 || total > 2147483647) return miss("fractional without usable weights; rule dropped");
  return {
    by,
    split: names.map((variant, i) => ({ weight: (weights[i]! / total) * 100, variant })),
    bucketing: { mode: "flagd", salt, flagdWeights: weights, ...(hash === "js" ? { flagdHash: "js" as const } : {}) },
  };
}

/**
 * Imports a flagd flag definition file (`{ flags: { key: { state, variants, defaultVariant,
 * targeting } } }`). Targeting is JsonLogic: `if` chains of `==`, `!=`, `<`..`>=`, `in`,
 * `starts_with`, `ends_with`, `sem_ver` and `and` become rules; `fractional` (at the top, as an
 * `if` result or as its else) becomes a split rollout in the `flagd` bucketing mode, so every
 * targeting key keeps its variant; anything else (`or`, `$ref`, computed values) is reported and
 * left out. `hash`: `utf8` (default: flagd's spec, its daemon and Go/Java evaluators) or `js`
 * (flags evaluated in process by `@openfeature/flagd-core`, which hashes non-ASCII ids otherwise).
 */
export function importFlagd(input: unknown, options: { hash?: "utf8" | "js" } = {}): ImportResult {
  const hash = options.hash ?? "utf8";
  const unmapped: Unmapped[] = [];
  const root = isObj(input) ? input : {};
  const flags: ImportedFlag[] = [];
  for (const [key, raw] of Object.entries(isObj(root.flags) ? root.flags : {})) {
    if (!isObj(raw) || !isObj(raw.variants)) {
      unmapped.push({ flag: key, path: "variants", reason: "a flag needs variants; skipped" });
      continue;
    }
    const variants = raw.variants as Record<string, JsonValue>;
    const def = typeof raw.defaultVariant === "string" ? raw.defaultVariant : null;
    const rules: Rule[] = [];
    let logic: unknown = raw.targeting;
    let i = 0;
    let complete = true;
    const defaultServe = def !== null && def in variants ? { variant: def } : null;
    // if [cond, then, else] where else may be another if (flagd's chains), a variant name or a fractional.
    while (isObj(logic) && Object.keys(logic).length > 0) {
      const top = fractionalOf(logic, key, variants, hash, unmapped, `targeting${i ? `(else #${i})` : ""}.fractional`);
      if (top !== undefined) {
        if (top !== null) rules.push({ id: `t${i}_fractional`, when: [], segments: [], serve: { rollout: top } });
        else complete = false;
        break;
      }
      const args = (logic as Obj).if;
      if (!Array.isArray(args) || args.length < 2) {
        unmapped.push({
          flag: key,
          path: `targeting${i ? `(else #${i})` : ""}`,
          reason: `JsonLogic ${Object.keys(logic)[0]} is not supported`,
        });
        complete = false;
        break;
      }
      for (let j = 0; j + 1 < args.length; j += 2) {
        const conds = test(args[j]);
        const then = args[j + 1];
        const fr = conds === null ? undefined : fractionalOf(then, key, variants, hash, unmapped, `targeting.if[${j + 1}].fractional`);
        if (conds !== null && fr) {
          rules.push({ id: `t${i}_${j / 2}`, when: conds, segments: [], serve: { rollout: fr } });
          // flagd: a fractional without a bucketing value returns null, so the default variant (not the next branch).
          if (defaultServe) rules.push({ id: `t${i}_${j / 2}_default`, when: conds, segments: [], serve: defaultServe });
          continue;
        }
        if (conds === null || typeof then !== "string" || !(then in variants)) {
          unmapped.push({
            flag: key,
            path: `targeting.if[${j}]`,
            reason: "condition or result has no exact @ops equivalent; branch dropped",
          });
          complete = false;
          continue;
        }
        rules.push({ id: `t${i}_${j / 2}`, when: conds, segments: [], serve: { variant: then } });
      }
      const rest = args.length % 2 === 1 ? args[args.length - 1] : null;
      i++;
      if (typeof rest === "string" && rest in variants) {
        rules.push({ id: `t${i}_else`, when: [], segments: [], serve: { variant: rest } });
        break;
      }
      logic = rest;
    }
    if (!complete) unmapped.push({ flag: key, path: "targeting", reason: "targeting imported in part: review the rules" });
    const defValue = def !== null && def in variants ? variants[def]! : (Object.values(variants)[0] ?? null);
    flags.push({
      key,
      type: typeOf(Object.values(variants)),
      value: defValue,
      patch: {
        enabled: raw.state !== "DISABLED",
        variants,
        ...(def !== null && def in variants ? { defaultVariant: def } : {}),
        rules,
      },
    });
  }
  return { source: "flagd", flags, unmapped };
}
