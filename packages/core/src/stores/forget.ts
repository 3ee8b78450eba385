import type { JsonValue } from "../json.js";
import type { TenantKey } from "./common.js";

/**
 * What `forgetSubject` (of @ops/audit) asks a store to remove: everything that names one person
 * in one tenant. Stores that keep personal data outside the audit log implement the optional
 * `forgetSubject` method of their contract with it.
 */
export interface ForgetSubjectInput {
  tenantId: TenantKey;
  /** The person's id (a user id); replaced by `pseudonym` wherever it appears. */
  subjectId: string;
  /** What else identifies them (name, e-mail, phone, IP, user agent): each occurrence becomes `"[ERASED]"`. */
  identifiers: readonly string[];
  /** Stable stand-in for the id (`forgotten_<hash>`), so counts and links between records survive. */
  pseudonym: string;
}

/** How many records a store changed. */
export interface ForgetSubjectResult {
  records: number;
}

/** What an erased identifier reads as. */
export const ERASED_TEXT = "[ERASED]";

const isIdChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/**
 * Replaces each identifier (case-insensitive, as a whole token: not inside a longer word or
 * number) in one string. Identifiers shorter than 3 characters are ignored (they would match
 * everywhere). Linear in `s.length` times the number of identifiers.
 */
export function scrubText(s: string, identifiers: readonly { text: string; replacement: string }[]): string {
  if (s.length === 0 || identifiers.length === 0) return s;
  const lower = s.toLowerCase();
  const hits: { start: number; end: number; replacement: string }[] = [];
  for (const id of identifiers) {
    const needle = id.text.toLowerCase();
    if (needle.length < 3 || needle.length !== id.text.length) continue;
    let from = 0;
    for (;;) {
      const at = lower.indexOf(needle, from);
      if (at < 0) break;
      const end = at + needle.length;
      const before = at === 0 || !isIdChar(s.charCodeAt(at - 1)) || !isIdChar(s.charCodeAt(at));
      const after = end === s.length || !isIdChar(s.charCodeAt(end)) || !isIdChar(s.charCodeAt(end - 1));
      if (before && after) hits.push({ start: at, end, replacement: id.replacement });
      from = at + 1;
    }
  }
  if (hits.length === 0) return s;
  hits.sort((a, b) => a.start - b.start || b.end - a.end);
  let out = "";
  let at = 0;
  for (const h of hits) {
    if (h.start < at) continue; // overlaps an earlier, longer hit
    out += s.slice(at, h.start) + h.replacement;
    at = h.end;
  }
  return out + s.slice(at);
}

/** The replacement list for a `ForgetSubjectInput`: the id becomes the pseudonym, the rest `"[ERASED]"`. Longest first. */
export function forgetReplacements(input: ForgetSubjectInput): { text: string; replacement: string }[] {
  const list = [
    { text: input.subjectId, replacement: input.pseudonym },
    ...input.identifiers.map((text) => ({ text, replacement: ERASED_TEXT })),
  ];
  return list.filter((x) => typeof x.text === "string" && x.text.length >= 3).sort((a, b) => b.text.length - a.text.length);
}

/**
 * `scrubText` over every string (values and keys) of a JSON value. Returns the same value when
 * nothing changed, so a store can tell which records to write back.
 */
export function scrubJson<T extends JsonValue | undefined>(value: T, identifiers: readonly { text: string; replacement: string }[]): T {
  if (typeof value === "string") return scrubText(value, identifiers) as T;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const x = scrubJson(v, identifiers);
      if (x !== v) changed = true;
      return x;
    });
    return (changed ? out : value) as T;
  }
  let changed = false;
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value)) {
    const k2 = scrubText(k, identifiers);
    const v2 = scrubJson(v, identifiers);
    if (k2 !== k || v2 !== v) changed = true;
    Object.defineProperty(out, k2, { value: v2, enumerable: true, writable: true, configurable: true });
  }
  return (changed ? out : value) as T;
}
