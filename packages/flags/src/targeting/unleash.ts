import { RE2JS } from "re2js";
import type { Condition } from "../config.js";
import type { EvaluationContext } from "../types.js";
import { parseIp } from "./cidr.js";
import type { Predicate } from "./conditions.js";

/*
 * Unleash constraint semantics, for flags imported from Unleash (`semantics: "unleash"`): a flag
 * evaluates the way unleash-client 6.x does, checked against the real client by
 * test/unleash-semantics.test.ts. Our operator names stand for Unleash's:
 *   in / notIn -> IN / NOT_IN; startsWith / endsWith / contains -> STR_*; matches -> REGEX;
 *   eq / gt / gte / lt / lte -> NUM_EQ / NUM_GT / ...; semver* -> SEMVER_*;
 *   before / after -> DATE_BEFORE / DATE_AFTER; inCidr -> IN_CIDR.
 * What differs from our own semantics:
 * - context values are stringified (`String(v)`; a missing or null field is "absent");
 * - constraint values are dropped when empty, then trimmed;
 * - NOT_IN is true for an absent field; IN ignores `caseInsensitive`;
 * - numbers compare `Number(value)` with `Number(String(field))` (NaN never matches);
 * - REGEX is RE2 (re2js: linear time, RE2 syntax such as inline flags and POSIX classes); a
 *   pattern RE2 rejects never matches;
 * - SEMVER needs a valid context version not starting with "v" (npm semver's grammar, trimmed);
 * - DATE_* compare the context's `currentTime` (else now) with the value, whatever the field;
 * - IN_CIDR skips invalid entries (the others still match) and compares within one family;
 * - `inverted` negates any operator's result.
 */

type Values = (string | number | boolean)[];

/** Unleash's `resolveContextValue`: the field, else `properties[field]`, stringified; undefined when absent. */
function field(ctx: EvaluationContext, name: string): string | undefined {
  let v = ctx[name];
  if (v === undefined || v === null) {
    const props = ctx.properties;
    v = props !== null && typeof props === "object" ? (props as Record<string, unknown>)[name] : undefined;
  }
  return v !== undefined && v !== null ? String(v) : undefined;
}

/** Unleash's `cleanValues`: drop empty values, then trim (so "  " survives as ""). */
function clean(values: Values | undefined): string[] {
  return (values ?? [])
    .map(String)
    .filter((v) => v.length > 0)
    .map((v) => v.trim());
}

// npm semver's FULL grammar (no "=" prefix, no loose mode), after trimming, at most 256 chars.
const NUM = "0|[1-9]\\d*";
const PRE_ID = `(?:${NUM}|\\d*[a-zA-Z-][a-zA-Z0-9-]*)`;
const SEMVER = new RegExp(`^v?(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`);

interface Version {
  main: [number, number, number];
  pre: (string | number)[];
}

function parseVersion(s: string): Version | null {
  if (s.length > 256) return null;
  const m = SEMVER.exec(s.trim());
  if (!m) return null;
  const main = [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number];
  if (main.some((n) => n > Number.MAX_SAFE_INTEGER)) return null;
  const pre = m[4] ? m[4].split(".").map((p) => (/^[0-9]+$/.test(p) && Number(p) <= Number.MAX_SAFE_INTEGER ? Number(p) : p)) : [];
  return { main, pre };
}

function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a.main[i] !== b.main[i]) return a.main[i]! < b.main[i]! ? -1 : 1;
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; ; i++) {
    const x = a.pre[i];
    const y = b.pre[i];
    if (x === undefined && y === undefined) return 0;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xn = typeof x === "number";
    const yn = typeof y === "number";
    if (xn && yn) return x < y ? -1 : 1;
    if (xn) return -1;
    if (yn) return 1;
    return x < y ? -1 : 1;
  }
}

interface Range {
  v6: boolean;
  groups: Uint16Array;
  bits: number;
}

/** An ip-address style range: an address (v4 or v6) with an optional prefix; null when invalid. */
function parseRange(s: string): Range | null {
  const slash = s.indexOf("/");
  const addr = slash >= 0 ? s.slice(0, slash) : s;
  const v6 = addr.includes(":");
  const max = v6 ? 128 : 32;
  const groups = new Uint16Array(8);
  if (!parseIp(addr, groups)) return null;
  let bits = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    bits = Number(p);
    if (bits > max) return null;
  }
  return { v6, groups, bits: v6 ? bits : bits + 96 };
}

function inRange(r: Range, ip: Uint16Array): boolean {
  let bits = r.bits;
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = bits >= 16 ? 16 : bits;
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((ip[i]! & mask) !== (r.groups[i]! & mask)) return false;
    bits -= take;
  }
  return true;
}

function evaluator(cond: Condition): Predicate {
  const name = cond.attr;
  const ci = cond.caseInsensitive === true;
  const absent = cond.value === undefined;
  const single = absent ? "" : String(cond.value);
  switch (cond.op) {
    case "in":
    case "notIn": {
      const set = new Set(clean(cond.values));
      const isIn = cond.op === "in";
      return (ctx) => {
        const v = field(ctx, name);
        const hit = v !== undefined && set.has(v);
        return isIn ? hit : !hit;
      };
    }
    case "startsWith":
    case "endsWith":
    case "contains": {
      const values = ci ? clean(cond.values).map((v) => v.toLocaleLowerCase()) : clean(cond.values);
      const op = cond.op;
      return (ctx) => {
        let v = field(ctx, name);
        if (v === undefined) return false;
        if (ci) v = v.toLocaleLowerCase();
        for (const x of values) if (op === "startsWith" ? v.startsWith(x) : op === "endsWith" ? v.endsWith(x) : v.includes(x)) return true;
        return false;
      };
    }
    case "matches": {
      let re: RE2JS | null = null;
      try {
        re = absent ? null : RE2JS.compile(single, ci ? RE2JS.CASE_INSENSITIVE : 0);
      } catch {
        re = null; // Unleash: a pattern RE2 rejects never matches.
      }
      return (ctx) => {
        const v = field(ctx, name);
        return v !== undefined && re !== null && re.matcher(v).find();
      };
    }
    case "eq":
    case "neq":
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const x = absent ? Number.NaN : Number(single);
      const op = cond.op;
      return (ctx) => {
        const raw = field(ctx, name);
        const a = raw === undefined ? Number.NaN : Number(raw);
        if (Number.isNaN(x) || Number.isNaN(a)) return false;
        return op === "eq" ? a === x : op === "gt" ? a > x : op === "gte" ? a >= x : op === "lt" ? a < x : op === "lte" ? a <= x : false;
      };
    }
    case "semverEq":
    case "semverGt":
    case "semverGte":
    case "semverLt":
    case "semverLte": {
      const target = parseVersion(single);
      const op = cond.op;
      return (ctx) => {
        const raw = field(ctx, name);
        if (!raw || raw.startsWith("v") || target === null) return false;
        const v = parseVersion(raw);
        if (v === null) return false;
        const c = compareVersions(v, target);
        return op === "semverEq" ? c === 0 : op === "semverGt" ? c > 0 : op === "semverGte" ? c >= 0 : op === "semverLt" ? c < 0 : c <= 0;
      };
    }
    case "before":
    case "after": {
      const t = new Date(single).getTime();
      const after = cond.op === "after";
      return (ctx) => {
        const cur = ctx.currentTime;
        const now = cur ? new Date(cur as string).getTime() : Date.now();
        return after ? now > t : now < t;
      };
    }
    case "inCidr": {
      // An invalid entry is skipped; the rest still match.
      const ranges = clean(cond.values)
        .map(parseRange)
        .filter((r): r is Range => r !== null);
      const ip = new Uint16Array(8);
      return (ctx) => {
        const v = field(ctx, name);
        if (v === undefined || !parseIp(v, ip)) return false;
        const v6 = v.includes(":");
        for (const r of ranges) if (r.v6 === v6 && inRange(r, ip)) return true;
        return false;
      };
    }
    default:
      return () => false;
  }
}

/** Compiles one condition with Unleash's semantics (see above). Never throws: Unleash never rejects a constraint. */
export function compileUnleashCondition(cond: Condition): Predicate {
  const p = evaluator(cond);
  return cond.inverted === true ? (ctx) => !p(ctx) : p;
}

/** AND of conditions compiled with Unleash's semantics (null for none). */
export function compileAllUnleash(conds: readonly Condition[]): Predicate | null {
  if (conds.length === 0) return null;
  const ps = conds.map(compileUnleashCondition);
  if (ps.length === 1) return ps[0]!;
  return (ctx) => {
    for (let i = 0; i < ps.length; i++) if (!ps[i]!(ctx)) return false;
    return true;
  };
}
