import { toStorableText, UNSTORABLE_MESSAGE, UNSTORABLE_TEXT, type JsonObject, type JsonValue, type StorableIssue } from "@ops/core";
import { maskAuthSchemes, maskCards, maskEmails, maskJwts, maskProviderKeys, maskSecretParams, maskUrlPasswords } from "./redact-scan.js";

/** What replaces a redacted value. */
export const REDACTED = "[REDACTED]";

export interface RedactOptions {
  /** Extra keys whose values are always masked (exact key, case-insensitive, or a RegExp). */
  denyKeys?: ReadonlyArray<string | RegExp>;
  /** Keys never masked by name (their string values are still scanned for tokens and cards). */
  allowKeys?: ReadonlyArray<string | RegExp>;
  /** Also mask e-mail addresses found in values (default false: audit often needs them). */
  maskEmails?: boolean;
  /** Deeper values become "[Truncated]" (default 16). */
  maxDepth?: number;
  /** Longer strings are cut with a marker (default 4096 characters). */
  maxStringLength?: number;
}

// Compared against the key lower-cased with "-", "_", "." and spaces removed.
const SECRET_PARTS = [
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "authorization",
  "cookie",
  "apikey",
  "privatekey",
  "credential",
  "signature",
  "sessionid",
  "clientsecret",
  "accesskey",
  "otp",
  "mfacode",
];
const SECRET_EXACT = new Set([
  "pwd",
  "pass",
  "auth",
  "ssn",
  "cvv",
  "cvc",
  "pin",
  "pan",
  "iban",
  "cardnumber",
  "creditcard",
  "card",
  "jwt",
  "bearer",
  "session",
  "sid",
  "dob",
  "dateofbirth",
  "socialsecuritynumber",
  "taxid",
]);

/**
 * Anything any value pattern could match: a JWT start, an auth scheme, a key prefix, 13+ digits,
 * "://", name=value. Every alternative reads a bounded number of characters per position, so the
 * test is linear; the scanners themselves (redact-scan.ts) are hand-written and linear too.
 */
const SUSPECT = /eyJ|bearer|basic|token|[spr]k_|gh[pousr]_|AKIA|xox|\d(?:[ -]?\d){12}|:\/\/|[\w\]-]=[^&#;\s]/i;

// Bail-outs: each is a necessary condition for its scanner to mask anything, tested by the regular
// expression engine (native code) before the scanner runs. Each reads every character a bounded
// number of times: the only unbounded run (`\s+`) follows a scheme word, and a run of spaces
// follows at most one; the bounded runs stop at "@" (e-mail) or "/" (URL), which start the next
// candidate. Hostile near-misses ("Bearer Bearer ...", "a@b.a@b.", "://://") end here.
const AUTH_HINT = /(?:bearer|basic|token)\s+[A-Za-z0-9._~+/-]{8}/i;
const EMAIL_HINT = /[A-Za-z0-9._%+-]@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2}/;
const URL_HINT = /:\/\/[^\s:/?#@]{0,256}:[^\s/?#@]{1,1024}@/;
const PROVIDER_HINT = /[spr]k_(?:live|test)_|gh[pousr]_|AKIA|xox[abpors]-/;
const CARD_HINT = /\d(?:[ -]?\d){12}/;

/** Depth beyond which nothing is walked, whatever `maxDepth` says (makeAuditEntry refuses deeper meta). */
export const MAX_REDACT_DEPTH = 32;
/** Upper bound of `maxStringLength`. */
export const MAX_REDACT_STRING = 1024 * 1024;
/** Characters read past `maxStringLength`, so a secret straddling the cut is still recognised. */
const LOOKAHEAD = 1024;
/** Work cap per `auditMetaSafe` call: values visited, and characters scanned over all strings. */
export const MAX_REDACT_NODES = 100_000;
export const MAX_REDACT_CHARS = 8 * 1024 * 1024;

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, "");
}

function matches(list: ReadonlyArray<string | RegExp> | undefined, key: string): boolean {
  if (!list) return false;
  const lower = key.toLowerCase();
  return list.some((m) => (typeof m === "string" ? m.toLowerCase() === lower : m.test(key)));
}

// Meta keys repeat endlessly ("ip", "route", ...): remember the verdict instead of re-scanning.
const secretKeyCache = new Map<string, boolean>();

/** True when the key names a secret or credential by itself (password, apiKey, set-cookie, ...). */
export function isSecretKey(key: string): boolean {
  const hit = secretKeyCache.get(key);
  if (hit !== undefined) return hit;
  const n = normalise(key);
  const secret = SECRET_EXACT.has(n) || SECRET_PARTS.some((p) => n.includes(p));
  if (key.length <= 256) {
    if (secretKeyCache.size >= 10_000) secretKeyCache.clear();
    secretKeyCache.set(key, secret);
  }
  return secret;
}

function clampInt(v: number | undefined, min: number, max: number, fallback: number): number {
  if (v === undefined || Number.isNaN(v)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(v)));
}

/**
 * Masks tokens, card numbers (Luhn-valid, 13-19 digits) and optionally e-mails inside a string.
 * Linear in the input whatever it holds: only the first `maxStringLength` (at most 1 MiB) plus
 * 1 KiB of characters are scanned; the rest is cut off before the scan. Never throws.
 */
export function redactString(input: string, options: RedactOptions = {}): string {
  const max = clampInt(options.maxStringLength, 16, MAX_REDACT_STRING, 4096);
  // The size limit comes before the scan: a 100 MB string costs what max + 1 KiB costs.
  const window = input.length > max + LOOKAHEAD ? input.slice(0, max + LOOKAHEAD) : input;
  // NUL and unpaired surrogates cannot be stored faithfully (see makeAuditEntry): replace them.
  let value = toStorableText(window);
  // One cheap test first: most strings hold nothing to mask, and the scanners cost more.
  if (SUSPECT.test(value) || (options.maskEmails && value.includes("@"))) {
    // Each pass only when its own cheap (linear, literal) test says it may match.
    if (value.includes("eyJ")) value = maskJwts(value, REDACTED);
    if (AUTH_HINT.test(value)) value = maskAuthSchemes(value, REDACTED);
    if (PROVIDER_HINT.test(value)) value = maskProviderKeys(value, REDACTED);
    if (URL_HINT.test(value)) value = maskUrlPasswords(value, REDACTED);
    if (value.includes("=")) value = maskSecretParams(value, REDACTED, (name) => secretName(name, options));
    if (CARD_HINT.test(value)) value = maskCards(value, REDACTED);
    if (options.maskEmails && EMAIL_HINT.test(value)) value = maskEmails(value, `${REDACTED}:email`);
  }
  const dropped = input.length - window.length;
  return value.length > max || dropped > 0 ? cut(value, max, dropped) : value;
}

function secretName(key: string, options: RedactOptions): boolean {
  return !matches(options.allowKeys, key) && (matches(options.denyKeys, key) || isSecretKey(key));
}

function cut(s: string, max: number, dropped = 0): string {
  const keep = Math.min(max, s.length);
  return `${s.slice(0, keep)}…[${s.length - keep + dropped} more]`;
}

/**
 * A JSON-safe, redacted copy of `meta` for an audit entry. Masks values of
 * secret-looking keys (password, secret, token, authorization, cookie, api key, ...) and
 * secret-looking values (JWTs, bearer/basic credentials, provider API keys, Luhn-valid card
 * numbers, e-mails when `maskEmails`) at any depth, in objects and arrays. Never mutates its
 * input and never throws: cycles become "[Circular]", depth beyond `maxDepth` (clamped to 1..32)
 * "[Truncated]", Dates ISO strings, bigints strings, Errors `{ name, message }`, functions and
 * undefined are dropped, non-finite numbers become null. `__proto__`, `constructor` and
 * `prototype` keys are kept as plain data (own properties; no prototype is touched). Work per
 * call is capped (`MAX_REDACT_NODES` values, `MAX_REDACT_CHARS` characters): what lies beyond
 * becomes "[Truncated]".
 */
export function auditMetaSafe(meta: unknown, options: RedactOptions = {}): JsonObject {
  if (meta === null || meta === undefined) return {};
  const ctx: Walk = {
    options,
    maxDepth: clampInt(options.maxDepth, 1, MAX_REDACT_DEPTH, 16),
    maxString: clampInt(options.maxStringLength, 16, MAX_REDACT_STRING, 4096),
    stack: [],
    nodes: 0,
    chars: 0,
  };
  const result = visit(meta, 0, ctx);
  return result !== null && typeof result === "object" && !Array.isArray(result) ? result : { value: result ?? null };
}

interface Walk {
  options: RedactOptions;
  maxDepth: number;
  maxString: number;
  stack: object[];
  nodes: number;
  chars: number;
}

const TRUNCATED = "[Truncated]";

// Plain module functions, not closures made per call: this runs for every audit entry.
function visit(v: unknown, depth: number, ctx: Walk): JsonValue | undefined {
  if (v === null) return null;
  if (++ctx.nodes > MAX_REDACT_NODES) return TRUNCATED;
  switch (typeof v) {
    case "string":
      ctx.chars += Math.min(v.length, ctx.maxString + LOOKAHEAD);
      return ctx.chars > MAX_REDACT_CHARS ? TRUNCATED : redactString(v, ctx.options);
    case "number":
      return Number.isFinite(v) ? v : null;
    case "boolean":
      return v;
    case "bigint":
      return v.toString();
    case "object":
      break;
    default:
      return undefined;
  }
  const obj = v as object;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (ctx.stack.includes(obj)) return "[Circular]";
  if (depth >= ctx.maxDepth) return TRUNCATED;
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return "[Binary]";
  ctx.stack.push(obj);
  try {
    if (obj instanceof Error) return { name: String(obj.name).slice(0, 256), message: redactString(String(obj.message), ctx.options) };
    if (Array.isArray(obj)) {
      const len = Math.min(obj.length, MAX_REDACT_NODES);
      const arr: JsonValue[] = new Array(len);
      for (let i = 0; i < len; i++) arr[i] = visit(obj[i], depth + 1, ctx) ?? null;
      return arr;
    }
    const out: JsonObject = {};
    if (obj instanceof Map) {
      for (const [k, x] of obj) {
        if (ctx.nodes > MAX_REDACT_NODES) break;
        put(out, String(k), x, depth, ctx);
      }
    } else {
      for (const k in obj) {
        if (ctx.nodes > MAX_REDACT_NODES) break;
        if (Object.hasOwn(obj, k)) put(out, k, (obj as Record<string, unknown>)[k], depth, ctx);
      }
    }
    return out;
  } finally {
    ctx.stack.pop();
  }
}

function put(out: JsonObject, rawKey: string, x: unknown, depth: number, ctx: Walk): void {
  ctx.chars += rawKey.length;
  const k = toStorableText(rawKey);
  let r: JsonValue | undefined;
  if (!matches(ctx.options.allowKeys, k) && (matches(ctx.options.denyKeys, k) || isSecretKey(k)))
    r = x === undefined ? undefined : REDACTED;
  else r = visit(x, depth + 1, ctx);
  if (r === undefined) return;
  // `out.__proto__ = v` would set the prototype; a defined property keeps the key as data.
  if (k === "__proto__" || k === "constructor" || k === "prototype")
    Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
  else out[k] = r;
}

/**
 * The first NUL or unpaired surrogate that `auditMetaSafe(value, options)` would have to replace
 * (in a kept key or a kept string; values of secret keys are masked whole, so they are not
 * looked at), with its path from `path` (`meta.k`, `meta.list[0]`), or null. Walks what
 * `auditMetaSafe` walks, within the same bounds (cycles, depth, `MAX_REDACT_NODES`).
 */
export function unstorableTextIssue(value: unknown, path: string, options: RedactOptions = {}): StorableIssue | null {
  const maxDepth = clampInt(options.maxDepth, 1, MAX_REDACT_DEPTH, 16);
  const stack: object[] = [];
  let nodes = 0;
  const at = (p: string, k: string | number) => (typeof k === "number" ? `${p}[${k}]` : `${p}.${k}`);
  const walk = (v: unknown, p: string, depth: number): StorableIssue | null => {
    if (++nodes > MAX_REDACT_NODES) return null;
    if (typeof v === "string") return UNSTORABLE_TEXT.test(v) ? { path: p, message: UNSTORABLE_MESSAGE } : null;
    if (v === null || typeof v !== "object" || v instanceof Date || stack.includes(v) || depth >= maxDepth) return null;
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return null;
    stack.push(v);
    try {
      if (v instanceof Error) return walk(String(v.message), at(p, "message"), depth + 1);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length && nodes <= MAX_REDACT_NODES; i++) {
          const issue = walk(v[i], at(p, i), depth + 1);
          if (issue) return issue;
        }
        return null;
      }
      const entries: Iterable<[unknown, unknown]> =
        v instanceof Map ? v : Object.keys(v).map((k) => [k, (v as Record<string, unknown>)[k]] as [unknown, unknown]);
      for (const [rawKey, x] of entries) {
        if (nodes > MAX_REDACT_NODES) break;
        const k = String(rawKey);
        if (UNSTORABLE_TEXT.test(k)) return { path: at(p, k), message: `key ${UNSTORABLE_MESSAGE}` };
        if (!matches(options.allowKeys, k) && (matches(options.denyKeys, k) || isSecretKey(k))) continue;
        const issue = walk(x, at(p, k), depth + 1);
        if (issue) return issue;
      }
      return null;
    } finally {
      stack.pop();
    }
  };
  return walk(value, path, 0);
}

/** A reusable `auditMetaSafe` with fixed options. */
export function createRedactor(options: RedactOptions): (meta: unknown) => JsonObject {
  return (meta) => auditMetaSafe(meta, options);
}

/**
 * A lower bound of the JSON size (bytes) of `auditMetaSafe(meta, options)`, computed without
 * scanning any string, and stopping as soon as it passes `limit`: lets a caller refuse oversized
 * meta before paying for redaction. Values of secret keys count as "[REDACTED]"; strings count at
 * most `maxStringLength` characters (the cut). @internal
 */
export function redactedSizeAtLeast(meta: unknown, limit: number, options: RedactOptions = {}): number {
  const maxString = clampInt(options.maxStringLength, 16, MAX_REDACT_STRING, 4096);
  const maxDepth = clampInt(options.maxDepth, 1, MAX_REDACT_DEPTH, 16);
  let size = 0;
  const stack: object[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (size > limit) return;
    if (typeof v === "string") {
      size += Math.min(v.length, maxString) + 2;
      return;
    }
    if (v === null || typeof v !== "object") {
      size += 1;
      return;
    }
    size += 2;
    if (
      depth >= maxDepth ||
      stack.includes(v) ||
      v instanceof Date ||
      ArrayBuffer.isView(v) ||
      v instanceof ArrayBuffer ||
      v instanceof Error ||
      v instanceof Map
    )
      return;
    stack.push(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && size <= limit; i++) walk(v[i], depth + 1);
    } else {
      for (const k in v) {
        if (size > limit) break;
        if (!Object.hasOwn(v, k)) continue;
        size += k.length + 3;
        const secret = !matches(options.allowKeys, k) && (matches(options.denyKeys, k) || isSecretKey(k));
        if (secret) size += REDACTED.length;
        else walk((v as Record<string, unknown>)[k], depth + 1);
      }
    }
    stack.pop();
  };
  walk(meta, 0);
  return size;
}
