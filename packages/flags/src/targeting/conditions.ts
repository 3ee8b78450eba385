import { ValidationError } from "@ops/core";
import type { Condition, Semantics } from "../config.js";
import type { EvaluationContext } from "../types.js";
import { cidrContains, parseCidr, type Cidr } from "./cidr.js";
import { MAX_MATCH_INPUT, unsafeRegexReason } from "./safe-regex.js";
import { compareSemverTo, parseSemver, type SemVer } from "./semver.js";
import { compileUnleashCondition } from "./unleash.js";

/** A compiled condition: synchronous, allocation-free for string, number and IPv4 attributes. */
export type Predicate = (ctx: EvaluationContext) => boolean;

function invalid(path: string, message: string): never {
  throw new ValidationError(`[ops/flags] invalid condition ${path}: ${message}`, [{ path, message }]);
}

function timeOf(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return Date.parse(v);
  if (v instanceof Date) return v.getTime();
  return Number.NaN;
}

function semverCompiled(path: string, cond: Condition): SemVer {
  const target = typeof cond.value === "string" ? parseSemver(cond.value) : null;
  if (!target) invalid(`${path}.value`, "expected a semantic version such as 1.2.3");
  return target;
}

/**
 * Compiles one condition. Validation happens here (once per change), never at evaluation.
 * @throws ValidationError naming the field when the condition cannot be compiled.
 */
export function compileCondition(cond: Condition, path = "when"): Predicate {
  const attr = cond.attr;
  const v = cond.value;
  const needValue = (): string | number | boolean => {
    if (v === undefined) invalid(`${path}.value`, `expected a value for op ${cond.op}`);
    return v;
  };
  const needValues = (): (string | number | boolean)[] => {
    if (!cond.values) invalid(`${path}.values`, `expected an array of values for op ${cond.op}`);
    return cond.values;
  };
  switch (cond.op) {
    case "eq": {
      const x = needValue();
      return (ctx) => ctx[attr] === x;
    }
    case "neq": {
      const x = needValue();
      return (ctx) => {
        const a = ctx[attr];
        return a !== undefined && a !== null && a !== x;
      };
    }
    case "in": {
      const set = new Set<unknown>(needValues());
      return (ctx) => set.has(ctx[attr]);
    }
    case "notIn": {
      const set = new Set<unknown>(needValues());
      return (ctx) => {
        const a = ctx[attr];
        return a !== undefined && a !== null && !set.has(a);
      };
    }
    case "contains": {
      const x = needValue();
      return (ctx) => {
        const a = ctx[attr];
        if (typeof a === "string") return typeof x === "string" && a.includes(x);
        return Array.isArray(a) && a.includes(x);
      };
    }
    case "startsWith":
    case "endsWith": {
      const x = needValue();
      if (typeof x !== "string") invalid(`${path}.value`, `expected a string for op ${cond.op}`);
      return cond.op === "startsWith"
        ? (ctx) => {
            const a = ctx[attr];
            return typeof a === "string" && a.startsWith(x);
          }
        : (ctx) => {
            const a = ctx[attr];
            return typeof a === "string" && a.endsWith(x);
          };
    }
    case "matches": {
      const x = needValue();
      if (typeof x !== "string") invalid(`${path}.value`, "expected a regular expression string");
      const why = unsafeRegexReason(x);
      if (why) invalid(`${path}.value`, `unsafe regular expression: ${why}`);
      const re = new RegExp(x, "u");
      return (ctx) => {
        const a = ctx[attr];
        return typeof a === "string" && a.length <= MAX_MATCH_INPUT && re.test(a);
      };
    }
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const x = needValue();
      if (typeof x !== "number") invalid(`${path}.value`, `expected a number for op ${cond.op}`);
      const op = cond.op;
      return (ctx) => {
        const a = ctx[attr];
        if (typeof a !== "number") return false;
        return op === "gt" ? a > x : op === "gte" ? a >= x : op === "lt" ? a < x : a <= x;
      };
    }
    case "semverEq":
    case "semverGt":
    case "semverGte":
    case "semverLt":
    case "semverLte": {
      const target = semverCompiled(path, cond);
      const op = cond.op;
      return (ctx) => {
        const a = ctx[attr];
        const c = typeof a === "string" ? compareSemverTo(a, target) : null;
        if (c === null) return false;
        return op === "semverEq" ? c === 0 : op === "semverGt" ? c > 0 : op === "semverGte" ? c >= 0 : op === "semverLt" ? c < 0 : c <= 0;
      };
    }
    case "before":
    case "after": {
      const t = timeOf(needValue());
      if (Number.isNaN(t)) invalid(`${path}.value`, "expected an ISO date-time or epoch milliseconds");
      const before = cond.op === "before";
      return (ctx) => {
        const a = timeOf(ctx[attr]);
        if (Number.isNaN(a)) return false;
        return before ? a < t : a > t;
      };
    }
    case "inCidr": {
      const nets: Cidr[] = needValues().map((n, i) => {
        const c = typeof n === "string" ? parseCidr(n) : null;
        if (!c) invalid(`${path}.values[${i}]`, "expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32");
        return c;
      });
      return (ctx) => {
        const a = ctx[attr];
        if (typeof a !== "string") return false;
        for (let i = 0; i < nets.length; i++) if (cidrContains(nets[i]!, a)) return true;
        return false;
      };
    }
  }
}

/** AND of compiled conditions, with our semantics or Unleash's (see targeting/unleash.ts). */
export function compileAll(conds: readonly Condition[], path: string, semantics: Semantics = "ops"): Predicate | null {
  if (conds.length === 0) return null;
  const ps = conds.map((c, i) => {
    if (semantics === "unleash") return compileUnleashCondition(c);
    if (c.caseInsensitive !== undefined || c.inverted !== undefined)
      invalid(`${path}[${i}]`, 'caseInsensitive and inverted are Unleash constraint options: set the flag\'s semantics to "unleash"');
    return compileCondition(c, `${path}[${i}]`);
  });
  if (ps.length === 1) return ps[0]!;
  return (ctx) => {
    for (let i = 0; i < ps.length; i++) if (!ps[i]!(ctx)) return false;
    return true;
  };
}
