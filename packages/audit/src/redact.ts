import type { JsonObject, JsonValue } from "@ops/core";

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
const SECRET_PARTS = ["password", "passwd", "passphrase", "secret", "token", "authorization", "cookie", "apikey", "privatekey", "credential", "signature", "sessionid", "clientsecret", "accesskey", "otp", "mfacode"];
const SECRET_EXACT = new Set(["pwd", "pass", "auth", "ssn", "cvv", "cvc", "pin", "pan", "iban", "cardnumber", "creditcard", "card", "jwt", "bearer", "session", "sid", "dob", "dateofbirth", "socialsecuritynumber", "taxid"]);

const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const BEARER = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/-]{8,}=*/gi;
const CARD_CANDIDATE = /\b\d(?:[ -]?\d){12,18}\b/g;
// Anchored at the start of a run and bounded: unanchored, "a.a.a...@" took seconds (quadratic).
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,256}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}/g;
const SECRET_PREFIX = /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bAKIA[0-9A-Z]{16}\b|\bxox[abpors]-[A-Za-z0-9-]{10,}/g;

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, "g");

// A URL's password (`scheme://user:password@host`) and `name=value` pairs (query strings, form
// bodies, cookies) whose name is a secret's (access_token, password, X-Amz-Signature, ...).
// Bounded and anchored (no scheme start inside a run of scheme characters): linear on any input.
const URL_PASSWORD = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/?#@]{0,256}):([^\s/?#@]{1,1024})@/gi;
const PARAM = /(^|[?&#;\s])([A-Za-z0-9_.\[\]-]{1,100})=([^&#;\s]+)/g;

/** Anything any value pattern could match: a JWT start, an auth scheme, a key prefix, 13+ digits, a URL password, name=value. */
const SUSPECT = /eyJ|bearer|basic|token|[spr]k_|gh[pousr]_|AKIA|xox|\d(?:[ -]?\d){12}|:\/\/[^\s/?#@]*:[^\s/?#@]*@|[\w\]-]=[^&#;\s]/i;

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
  if (secretKeyCache.size >= 10_000) secretKeyCache.clear();
  secretKeyCache.set(key, secret);
  return secret;
}

function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Masks tokens, card numbers (Luhn-valid, 13-19 digits) and optionally e-mails inside a string. */
export function redactString(input: string, options: RedactOptions = {}): string {
  const max = options.maxStringLength ?? 4096;
  // NUL and unpaired surrogates cannot be stored faithfully (see makeAuditEntry): replace them.
  const value = UNSTORABLE.test(input) ? input.replace(UNSTORABLE_ALL, "\ufffd") : input;
  // One cheap test first: most strings hold nothing to mask, and four replaces cost more.
  if (!SUSPECT.test(value) && !(options.maskEmails && value.includes("@"))) return value.length > max ? cut(value, max) : value;
  let out = value
    .replace(JWT, REDACTED)
    .replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(SECRET_PREFIX, REDACTED)
    .replace(URL_PASSWORD, `$1:${REDACTED}@`)
    .replace(PARAM, (m, pre: string, name: string) => (secretName(name, options) ? `${pre}${name}=${REDACTED}` : m))
    .replace(CARD_CANDIDATE, (m) => {
      const digits = m.replace(/[ -]/g, "");
      return digits.length >= 13 && digits.length <= 19 && luhn(digits) ? `${REDACTED}:card-${digits.slice(-4)}` : m;
    });
  if (options.maskEmails) out = out.replace(EMAIL, `${REDACTED}:email`);
  return out.length > max ? cut(out, max) : out;
}

function secretName(key: string, options: RedactOptions): boolean {
  return !matches(options.allowKeys, key) && (matches(options.denyKeys, key) || isSecretKey(key));
}

function cut(s: string, max: number): string {
  return `${s.slice(0, max)}…[${s.length - max} more]`;
}

/**
 * A JSON-safe, redacted copy of `meta` for an audit entry. Masks values of
 * secret-looking keys (password, secret, token, authorization, cookie, api key, ...) and
 * secret-looking values (JWTs, bearer/basic credentials, provider API keys, Luhn-valid card
 * numbers, e-mails when `maskEmails`) at any depth, in objects and arrays. Never mutates its
 * input and never throws: cycles become "[Circular]", depth beyond `maxDepth` "[Truncated]",
 * Dates ISO strings, bigints strings, Errors `{ name, message }`, functions and undefined are
 * dropped, non-finite numbers become null.
 */
export function auditMetaSafe(meta: unknown, options: RedactOptions = {}): JsonObject {
  if (meta === null || meta === undefined) return {};
  const result = visit(meta, 0, options, options.maxDepth ?? 16, []);
  return result !== null && typeof result === "object" && !Array.isArray(result) ? result : { value: result ?? null };
}

// Plain module functions, not closures made per call: this runs for every audit entry.
function visit(v: unknown, depth: number, options: RedactOptions, maxDepth: number, stack: object[]): JsonValue | undefined {
  if (v === null) return null;
  switch (typeof v) {
    case "string":
      return redactString(v, options);
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
  if (stack.includes(obj)) return "[Circular]";
  if (depth >= maxDepth) return "[Truncated]";
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return "[Binary]";
  stack.push(obj);
  try {
    if (obj instanceof Error) return { name: obj.name, message: redactString(obj.message, options) };
    if (Array.isArray(obj)) {
      const arr: JsonValue[] = new Array(obj.length);
      for (let i = 0; i < obj.length; i++) arr[i] = visit(obj[i], depth + 1, options, maxDepth, stack) ?? null;
      return arr;
    }
    const out: JsonObject = {};
    if (obj instanceof Map) for (const [k, x] of obj) put(out, String(k), x, depth, options, maxDepth, stack);
    else for (const k in obj) if (Object.prototype.hasOwnProperty.call(obj, k)) put(out, k, (obj as Record<string, unknown>)[k], depth, options, maxDepth, stack);
    return out;
  } finally {
    stack.pop();
  }
}

function put(out: JsonObject, rawKey: string, x: unknown, depth: number, options: RedactOptions, maxDepth: number, stack: object[]): void {
  const k = UNSTORABLE.test(rawKey) ? rawKey.replace(UNSTORABLE_ALL, "\ufffd") : rawKey;
  if (!matches(options.allowKeys, k) && (matches(options.denyKeys, k) || isSecretKey(k))) {
    if (x !== undefined) out[k] = REDACTED;
    return;
  }
  const r = visit(x, depth + 1, options, maxDepth, stack);
  if (r !== undefined) out[k] = r;
}

/** A reusable `auditMetaSafe` with fixed options. */
export function createRedactor(options: RedactOptions): (meta: unknown) => JsonObject {
  return (meta) => auditMetaSafe(meta, options);
}
