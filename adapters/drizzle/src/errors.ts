import {
  ConflictError,
  OpsError,
  TenantIsolationError,
  UnavailableError,
  ValidationError,
} from "@ops/core";

/** Driver error codes (node-postgres/net, postgres.js) that mean the connection is gone. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  // admin_shutdown, crash_shutdown, cannot_connect_now: the server went away under us.
  "57P01",
  "57P02",
  "57P03",
]);

const CONNECTION_MESSAGE =
  /connection terminated|connection (?:ended|closed|reset|refused)|client has encountered a connection error|terminating connection|cannot use a pool after calling end|client was closed|pglite is closed|socket hang up|not queryable/i;

interface DriverError {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
  constraint_name?: unknown;
}

/** Drizzle wraps driver errors in `DrizzleQueryError` (whose message holds the params): unwrap. */
function driverError(err: unknown): DriverError & Error {
  let current: unknown = err;
  for (let i = 0; i < 5 && current instanceof Error; i++) {
    const code = (current as DriverError).code;
    if (typeof code === "string") return current as DriverError & Error;
    if (!(current.cause instanceof Error)) break;
    current = current.cause;
  }
  return (current instanceof Error ? current : err) as DriverError & Error;
}

/** True when `err` (or what it wraps) says the database connection was lost or refused. */
export function isConnectionError(err: unknown): boolean {
  const e = driverError(err);
  const code = typeof e.code === "string" ? e.code : "";
  if (CONNECTION_CODES.has(code) || code.startsWith("08")) return true;
  return typeof e.message === "string" && CONNECTION_MESSAGE.test(e.message);
}

/**
 * THE one place PostgreSQL and driver errors become @ops errors. `what` names the call
 * (`"flags.put ops_flags dev/new-checkout"`) and is the only text of ours in the message: the
 * driver's message can hold query parameters, so it is kept only as `cause`.
 * - 23505 unique_violation, 40001 serialization_failure, 40P01 deadlock -> ConflictError;
 * - lost or refused connections -> UnavailableError (retryable: the change did not happen or is unknown);
 * - 42501 (row-level security, the append-only trigger) -> TenantIsolationError;
 * - 22P05/22021/22P02/54000 (text the database cannot store) -> ValidationError;
 * - an OpsError passes through unchanged; anything else -> OpsError("UNAVAILABLE") is NOT assumed:
 *   it is rethrown as is, so a programming error stays visible.
 */
export function mapDbError(err: unknown, what: string): unknown {
  if (err instanceof OpsError) return err;
  const e = driverError(err);
  const code = typeof e.code === "string" ? e.code : "";
  const constraint = typeof e.constraint === "string" ? e.constraint : typeof e.constraint_name === "string" ? e.constraint_name : "";
  if (code === "23505")
    return new ConflictError(`[ops/adapter-drizzle] ${what}: already exists${constraint ? ` (${constraint})` : ""}`, { cause: e });
  if (code === "40001" || code === "40P01")
    return new ConflictError(`[ops/adapter-drizzle] ${what}: lost a concurrent write (${code}), retry`, { cause: e });
  if (isConnectionError(e))
    return new UnavailableError(`[ops/adapter-drizzle] ${what}: database connection lost or refused${code ? ` (${code})` : ""}`, {
      cause: e,
    });
  if (code === "42501")
    return new TenantIsolationError(
      `[ops/adapter-drizzle] ${what}: refused by the database (row-level security or append-only table)`,
      { cause: e },
    );
  if (code === "22P05" || code === "22021" || code === "22P02" || code === "54000")
    return new ValidationError(`[ops/adapter-drizzle] ${what}: a value cannot be stored (${code}: NUL character or invalid text)`, [], {
      cause: e,
    });
  return err;
}
