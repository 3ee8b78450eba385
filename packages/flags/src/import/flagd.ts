import type { JsonValue } from "@ops/core";
import type { Condition, Rule } from "../config.js";
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
 * Imports a flagd flag definition file (`{ flags: { key: { state, variants, defaultVariant,
 * targeting } } }`). Targeting is JsonLogic: `if` chains of `==`, `!=`, `<`..`>=`, `in`,
 * `starts_with`, `ends_with`, `sem_ver` and `and` become rules; anything else (`or`, `fractional`,
 * `$ref`, computed values) is reported and left out.
 */
export function importFlagd(input: unknown): ImportResult {
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
    // if [cond, then, else] where else may be another if (flagd's chains) or a variant name.
    while (isObj(logic) && Object.keys(logic).length > 0) {
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
