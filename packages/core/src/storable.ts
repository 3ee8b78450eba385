import * as z from "zod";
import { ValidationError } from "./errors.js";

// One definition of "storable text" for every store and every package: what PostgreSQL, Redis and
// memory all keep byte-identical. NUL is refused by PostgreSQL text/jsonb; a lone UTF-16 surrogate
// is turned into U+FFFD by drivers (so a stored value would silently differ from the one given).

/** Matches a NUL character or an unpaired UTF-16 surrogate: text that cannot be stored faithfully. */
export const UNSTORABLE_TEXT: RegExp = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE_TEXT.source, "g");

/** The message of every storable-text refusal. */
export const UNSTORABLE_MESSAGE = "expected no NUL characters or unpaired surrogates (they cannot be stored faithfully)";

/**
 * Length bounds (UTF-16 code units) per kind of field, the same for every store:
 * - `id`: ids, idempotency keys, fingerprints, actors, tenant-less references (1..512);
 * - `name`: names and keys (flag keys, counter keys, channels, types, model names) (1..256);
 * - `text`: reasons and free text (titles, errors, notes) (0..10,000);
 * - `jsonKey` / `jsonString`: keys and string values inside JSON (meta, config, data, payload).
 */
export const STORABLE_LIMITS = Object.freeze({ id: 512, name: 256, text: 10_000, jsonKey: 1024, jsonString: 100_000 });
export type StorableKind = "id" | "name" | "text";
/** How deep JSON values may nest. */
export const MAX_JSON_DEPTH = 64;

/** True when `s` holds neither a NUL nor an unpaired surrogate. */
export function isStorableText(s: string): boolean {
  return !UNSTORABLE_TEXT.test(s);
}

/** `s` with every NUL and unpaired surrogate replaced by U+FFFD (for text that is redacted anyway). */
export function toStorableText(s: string): string {
  return UNSTORABLE_TEXT.test(s) ? s.replace(UNSTORABLE_ALL, "\ufffd") : s;
}

/** One problem in a value: where (dotted path) and what was expected. */
export interface StorableIssue {
  path: string;
  message: string;
}

/**
 * The first problem of a string field of `kind`, or null. `min` defaults to 1 for ids and names
 * and 0 for free text.
 */
export function storableTextIssue(value: unknown, path: string, kind: StorableKind, min = kind === "text" ? 0 : 1): StorableIssue | null {
  const max = STORABLE_LIMITS[kind];
  if (typeof value !== "string") return { path, message: `expected a string of ${min}..${max} characters` };
  if (value.length < min || value.length > max) return { path, message: `expected a string of ${min}..${max} characters` };
  if (UNSTORABLE_TEXT.test(value)) return { path, message: UNSTORABLE_MESSAGE };
  return null;
}

const join = (path: string, key: string | number) => (typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`);

/**
 * The first problem of a JSON value, or null: every key and string storable and within
 * `STORABLE_LIMITS.jsonKey` / `jsonString`, numbers finite, only plain objects, arrays and
 * primitives, no cycles, at most `MAX_JSON_DEPTH` levels. The path names the bad place
 * (`meta.k`, `config.rules[2].name`).
 */
export function storableJsonIssue(value: unknown, path: string): StorableIssue | null {
  const seen: object[] = [];
  const walk = (v: unknown, at: string, depth: number): StorableIssue | null => {
    if (typeof v === "string") {
      if (v.length > STORABLE_LIMITS.jsonString)
        return { path: at, message: `expected a string of at most ${STORABLE_LIMITS.jsonString} characters` };
      return UNSTORABLE_TEXT.test(v) ? { path: at, message: UNSTORABLE_MESSAGE } : null;
    }
    // undefined members are dropped by JSON (as every store's encoding does), so they pass.
    if (v === null || v === undefined || typeof v === "boolean") return null;
    if (typeof v === "number") return Number.isFinite(v) ? null : { path: at, message: "expected a finite number" };
    if (typeof v !== "object") return { path: at, message: "expected a JSON value" };
    const proto = Object.getPrototypeOf(v) as unknown;
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return { path: at, message: "expected a plain JSON object" };
    if (depth >= MAX_JSON_DEPTH) return { path: at, message: `expected nesting of at most ${MAX_JSON_DEPTH} levels` };
    if (seen.includes(v)) return { path: at, message: "expected no circular references" };
    seen.push(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const issue = walk(v[i], join(at, i), depth + 1);
        if (issue) return issue;
      }
    } else {
      for (const k of Object.keys(v)) {
        const kp = join(at, k);
        if (k.length > STORABLE_LIMITS.jsonKey)
          return { path: kp, message: `expected a key of at most ${STORABLE_LIMITS.jsonKey} characters` };
        if (UNSTORABLE_TEXT.test(k)) return { path: kp, message: `key ${UNSTORABLE_MESSAGE}` };
        const issue = walk((v as Record<string, unknown>)[k], kp, depth + 1);
        if (issue) return issue;
      }
    }
    seen.pop();
    return null;
  };
  return walk(value, path, 0);
}

function refuse(pkg: string, what: string, issue: StorableIssue): ValidationError {
  return new ValidationError(`[ops/${pkg}] invalid ${what}: ${issue.path || "(input)"}: ${issue.message}`, [issue]);
}

/**
 * Checks one caller field before anything is written: a string of `kind` (see `STORABLE_LIMITS`),
 * or, for `kind: "json"`, any JSON value walked to its leaves. `field` is the caller's own name
 * of it (`reason`, `userId`, `meta`); nested problems report their path (`meta.k`).
 * `undefined` passes when `optional` is set.
 * @throws ValidationError `[ops/<pkg>] invalid <what>: <field>: <expected>`, `issues[0].path` = the field.
 */
export function checkStorable(
  value: unknown,
  field: string,
  options: { kind?: StorableKind | "json"; pkg?: string; what?: string; optional?: boolean; min?: number } = {},
): void {
  if (value === undefined && options.optional) return;
  const kind = options.kind ?? "text";
  const issue = kind === "json" ? storableJsonIssue(value, field) : storableTextIssue(value, field, kind, options.min);
  if (issue) throw refuse(options.pkg ?? "core", options.what ?? "input", issue);
}

/**
 * Checks several caller fields at once (`{ reason: [value, "text"], meta: [value, "json"] }`);
 * absent (`undefined`) values are skipped. Throws on the first bad one, naming it.
 * @throws ValidationError
 */
export function checkStorableFields(
  fields: Record<string, readonly [unknown, StorableKind | "json"]>,
  where: { pkg: string; what: string },
): void {
  for (const [field, [value, kind]] of Object.entries(fields))
    checkStorable(value, field, { kind, pkg: where.pkg, what: where.what, optional: true, min: kind === "json" ? undefined : 0 });
}

/**
 * A zod string schema of storable text of `kind` (length bound and no NUL / unpaired surrogate).
 * `min` defaults to 1 for ids and names, 0 for free text.
 */
export function storableText(kind: StorableKind = "text", min = kind === "text" ? 0 : 1): z.ZodString {
  const max = STORABLE_LIMITS[kind];
  return z
    .string()
    .min(min, `expected a string of ${min}..${max} characters`)
    .max(max, `expected a string of ${min}..${max} characters`)
    .refine(isStorableText, UNSTORABLE_MESSAGE) as unknown as z.ZodString;
}

/** A zod refinement for any JSON value (or object): storable keys and strings, reported at their path. */
export function storableJson<S extends z.ZodType>(schema: S): S {
  return schema.superRefine((v, ctx) => {
    const issue = storableJsonIssue(v, "");
    if (issue) ctx.addIssue({ code: "custom", message: issue.message, path: pathParts(issue.path) });
  }) as unknown as S;
}

function pathParts(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}
