/** The placeholder that replaces anything secret in a message. */
export const REDACTED = "[redacted]";

const MAX_MESSAGE = 300;

// Whole connection strings of datastores and brokers: their host, user and database name are
// reconnaissance, and drivers often echo them (password included) in connection errors.
const CONNECTION_STRING =
  /\b(?:postgres(?:ql)?|mysql2?|mariadb|mssql|sqlserver|redis|rediss|mongodb(?:\+srv)?|amqps?|nats|kafka|ldaps?|jdbc:[a-z]+|smtps?|s?ftp|clickhouse|cockroachdb|prisma(?:\+postgres)?):\/\/[^\s'"<>`]+/gi;
// Credentials inside any other URL: scheme://user:password@host.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"<>`]+@/gi;
// key=value and key: value pairs whose key says secret (conninfo strings, query strings, JSON).
// Quoted values are taken whole (a conninfo password may hold spaces).
const SECRET_PAIR =
  /\b((?:[a-z0-9_-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth|signature)[a-z0-9_-]*)["']?\s*[=:]\s*)(?:"[^"]*"|'[^']*'|[^\s&;,'"}]+)/gi;
const AUTH_SCHEME = /\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=-]{6,}/g;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
// Well-known key shapes (AWS access keys, GitHub, Slack, Stripe) that need no key name to be secret.
const KNOWN_KEYS = /\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_(?:live|test)_[A-Za-z0-9]{10,})\b/g;

/**
 * Returns `text` with connection strings, URL credentials, password/token pairs, bearer tokens,
 * JWTs, well-known API keys and every literal in `secrets` replaced by `[redacted]`, cut to
 * 300 characters. Never throws.
 */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  const out = redactText(text, secrets);
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE - 1)}…` : out;
}

/** `scrubSecrets` without the length cut. */
function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(REDACTED);
  out = out
    .replace(CONNECTION_STRING, REDACTED)
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(KNOWN_KEYS, REDACTED)
    .replace(SECRET_PAIR, `$1${REDACTED}`);
  return out;
}

const MAX_DEPTH = 8;

/**
 * A check's JSON value (details, a string observedValue) with every string scrubbed like a
 * message but not cut; nesting deeper than 8 levels (or a cycle) becomes "[too deep]". Never throws.
 */
export function scrubValue<T>(value: T, secrets: readonly string[] = [], depth = 0): T {
  if (typeof value === "string") return redactText(value, secrets) as T;
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) return "[too deep]" as T;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, secrets, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, secrets, depth + 1);
  return out as T;
}

/** A safe one-line description of anything thrown: message (or code), scrubbed. */
export function describeError(err: unknown, secrets: readonly string[] = []): string {
  return scrubSecrets(rawMessage(err), secrets);
}

function rawMessage(err: unknown): string {
  if (err instanceof Error) {
    // Node reports a refused dual-stack connect as an AggregateError with an empty message.
    if (!err.message && err instanceof AggregateError && err.errors.length > 0) return rawMessage(err.errors[0]);
    const code = (err as { code?: unknown }).code;
    let msg = err.message || err.name;
    // fetch says only "fetch failed"; the reason (ECONNREFUSED...) is in its cause.
    if (err.cause !== undefined && err.cause !== err) msg = `${msg}: ${rawMessage(err.cause)}`;
    return typeof code === "string" && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  if (typeof err === "string") return err;
  return "check threw a non-error value";
}
