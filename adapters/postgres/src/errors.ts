import { ConflictError, NotFoundError, OpsError, TenantIsolationError, UnavailableError, ValidationError } from "@ops/core";

/** Node/driver codes (node-postgres/net, postgres.js) that mean the connection is gone. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTCONN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/** Prisma codes and driver-adapter error kinds that mean the server or the connection is gone. */
const PRISMA_UNAVAILABLE = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const KIND_UNAVAILABLE = new Set([
  "ConnectionClosed",
  "SocketTimeout",
  "DatabaseNotReachable",
  "DatabaseDoesNotExist",
  "TooManyConnections",
  "TransactionAlreadyClosed",
]);

const CONNECTION_MESSAGE =
  /connection terminated|connection (?:is )?(?:ended|closed|reset|refused)|client has encountered a connection error|terminating connection|cannot use a pool after calling end|client was closed|pglite is closed|socket hang up|not queryable/i;

interface Facts {
  sqlState?: string;
  prismaCode?: string;
  kind?: string;
  nodeCode?: string;
  constraint?: string;
  messages: string;
}

/**
 * The codes that drivers, Drizzle (`DrizzleQueryError`), Prisma (`PrismaClientKnownRequestError`,
 * driver adapter errors) and Node put on an error and its causes.
 */
function facts(err: unknown): Facts {
  const out: Facts = { messages: "" };
  const seen = new Set<unknown>();
  let current: unknown = err;
  for (let i = 0; i < 8 && typeof current === "object" && current !== null && !seen.has(current); i++) {
    seen.add(current);
    const e = current as Record<string, unknown>;
    if (typeof e.message === "string") out.messages += `${e.message}\n`;
    const code = typeof e.code === "string" ? e.code : undefined;
    if (code !== undefined) {
      if (/^P\d{4}$/.test(code)) out.prismaCode ??= code;
      else if (/^[0-9A-Z]{5}$/.test(code) && /\d/.test(code)) out.sqlState ??= code;
      else out.nodeCode ??= code;
    }
    if (typeof e.originalCode === "string") out.sqlState ??= e.originalCode;
    if (typeof e.kind === "string") out.kind ??= e.kind;
    const constraint = e.constraint ?? e.constraint_name;
    if (typeof constraint === "string") out.constraint ??= constraint;
    const meta = e.meta as Record<string, unknown> | undefined;
    current = meta?.driverAdapterError ?? e.cause;
  }
  return out;
}

/** True when `err` (or what it wraps) says the database connection was lost or refused. */
export function isConnectionError(err: unknown): boolean {
  const f = facts(err);
  if (f.nodeCode !== undefined && CONNECTION_CODES.has(f.nodeCode)) return true;
  if (f.sqlState !== undefined && (f.sqlState.startsWith("08") || /^57P0[1-3]$/.test(f.sqlState))) return true;
  if (f.prismaCode !== undefined && PRISMA_UNAVAILABLE.has(f.prismaCode)) return true;
  if (f.kind !== undefined && KIND_UNAVAILABLE.has(f.kind)) return true;
  return CONNECTION_MESSAGE.test(f.messages);
}

/**
 * THE one place PostgreSQL and driver errors become @ops errors, for every driver (node-postgres,
 * postgres.js, PGlite, Drizzle, Prisma). `what` names the call (`"flags.put dev/(global)/new-checkout"`)
 * and is the only text of ours in the message. The driver's message and detail can hold query
 * parameters (the values of a row), so they never reach the message: it carries the SQLSTATE and
 * a short description only; the original stays as `cause` for debugging.
 * - 23505 unique_violation -> ConflictError (not retryable: the key exists);
 * - Prisma's P2025 (record to update not found) -> NotFoundError;
 * - 40001 serialization_failure, 40P01 deadlock -> ConflictError (retryable);
 * - lost or refused connections, 57014 statement timeout, 55P03 lock timeout -> UnavailableError;
 * - 42501 (row-level security, the append-only trigger, a missing grant) -> TenantIsolationError;
 * - 22P05/22021/22P02/22001/54000 (text or a value the database cannot store) -> ValidationError;
 * - any other database error -> OpsError UNAVAILABLE, not retryable, scrubbed the same way;
 * - an OpsError, or an error with no database code (a bug of ours), passes through unchanged.
 */
export function mapPgError(err: unknown, what: string, pkg = "adapter-postgres"): unknown {
  if (err instanceof OpsError) return err;
  const f = facts(err);
  const p = `[ops/${pkg}] ${what}:`;
  const state = f.sqlState;
  if (state === "23505" || f.prismaCode === "P2002" || f.kind === "UniqueConstraintViolation")
    return new ConflictError(`${p} already exists${f.constraint ? ` (${f.constraint})` : ""}`, { cause: err, retryable: false });
  if (f.prismaCode === "P2025") return new NotFoundError(`${p} record not found`, { cause: err });
  if (state === "40001" || state === "40P01" || f.prismaCode === "P2034" || f.kind === "TransactionWriteConflict")
    return new ConflictError(`${p} lost a concurrent write (${state ?? f.prismaCode ?? f.kind}), retry`, { cause: err });
  if (state === "57014" || state === "55P03")
    return new UnavailableError(
      `${p} the database cancelled the statement (${state}: ${state === "57014" ? "statement timeout" : "lock timeout"})`,
      {
        cause: err,
      },
    );
  if (isConnectionError(err))
    return new UnavailableError(
      `${p} database connection lost or refused (${state ?? f.prismaCode ?? f.kind ?? f.nodeCode ?? "connection error"})`,
      {
        cause: err,
      },
    );
  if (state === "42501")
    return new TenantIsolationError(`${p} refused by the database (42501: row-level security, append-only table or a missing grant)`, {
      cause: err,
    });
  if (state === "22P05" || state === "22021" || state === "22P02" || state === "22001" || state === "54000")
    return new ValidationError(`${p} a value cannot be stored (${state}: NUL character, invalid text or too long)`, [], { cause: err });
  if (state !== undefined || f.prismaCode !== undefined || /^Failed query:/m.test(f.messages))
    return new OpsError("UNAVAILABLE", `${p} the database refused the statement (${state ?? f.prismaCode ?? "driver error"})`, {
      cause: err,
      retryable: false,
    });
  return err;
}
