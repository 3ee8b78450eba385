import { ConflictError, NotFoundError, OpsError, TenantIsolationError, UnavailableError } from "@ops/core";

const PKG = "[ops/adapter-prisma]";

/** PostgreSQL SQLSTATEs and Prisma codes that mean the server or the connection is gone. */
const UNAVAILABLE_PRISMA = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2034"]);
const UNAVAILABLE_KINDS = new Set([
  "ConnectionClosed",
  "SocketTimeout",
  "DatabaseNotReachable",
  "DatabaseDoesNotExist",
  "TooManyConnections",
  "TransactionWriteConflict",
  "TransactionAlreadyClosed",
]);
const UNAVAILABLE_NODE = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTCONN"]);

interface ErrorFacts {
  prismaCode?: string;
  sqlState?: string;
  kind?: string;
  nodeCode?: string;
  message: string;
}

/** Collects the codes Prisma, its driver adapter, pg and Node put on an error and its causes. */
function facts(err: unknown): ErrorFacts {
  const out: ErrorFacts = { message: "" };
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (typeof current === "object" && current !== null && !seen.has(current)) {
    seen.add(current);
    const e = current as Record<string, unknown>;
    if (typeof e.message === "string") out.message += `${e.message}\n`;
    if (typeof e.code === "string") {
      if (/^P\d{4}$/.test(e.code)) out.prismaCode ??= e.code;
      else if (/^[0-9A-Z]{5}$/.test(e.code) && !e.code.startsWith("E")) out.sqlState ??= e.code;
      else if (e.code.startsWith("E")) out.nodeCode ??= e.code;
    }
    if (typeof e.originalCode === "string") out.sqlState ??= e.originalCode;
    if (typeof e.kind === "string") out.kind ??= e.kind;
    const meta = e.meta as Record<string, unknown> | undefined;
    const next = meta?.driverAdapterError ?? e.cause;
    current = next;
  }
  return out;
}

/**
 * Maps whatever Prisma (or pg underneath it) threw to @ops's typed errors. The one place the
 * adapter interprets driver errors; every store method funnels its failures through it.
 *
 * - unique violation (P2002, SQLSTATE 23505) -> ConflictError
 * - record not found (P2025) -> NotFoundError
 * - a row-level security policy rejected a write (42501 "row-level security") -> TenantIsolationError
 * - lost or refused connection, pool timeout, serialization failure -> UnavailableError (retryable)
 * - anything else is returned unchanged (it is a bug or a schema problem, not a state to handle)
 */
export function mapPrismaError(err: unknown, what: string): unknown {
  if (err instanceof OpsError) return err;
  const f = facts(err);
  if (f.prismaCode === "P2002" || f.sqlState === "23505" || f.kind === "UniqueConstraintViolation")
    return new ConflictError(`${PKG} ${what}: the key already exists`, { cause: err });
  if (f.prismaCode === "P2025") return new NotFoundError(`${PKG} ${what}: record not found`, { cause: err });
  if (f.sqlState === "42501" && /row-level security/i.test(f.message))
    return new TenantIsolationError(
      `${PKG} ${what}: row-level security rejected the write (app.tenant_id is not the record's tenant)`,
      { cause: err },
    );
  if (
    (f.prismaCode !== undefined && UNAVAILABLE_PRISMA.has(f.prismaCode)) ||
    (f.kind !== undefined && UNAVAILABLE_KINDS.has(f.kind)) ||
    (f.nodeCode !== undefined && UNAVAILABLE_NODE.has(f.nodeCode)) ||
    (f.sqlState !== undefined && (f.sqlState.startsWith("08") || f.sqlState.startsWith("57P") || f.sqlState === "40001" || f.sqlState === "40P01")) ||
    /Connection terminated|connection (is )?closed|Client has encountered a connection error|Connection ended|socket hang up/i.test(f.message)
  )
    return new UnavailableError(`${PKG} ${what}: the database is unavailable (${f.prismaCode ?? f.kind ?? f.sqlState ?? f.nodeCode ?? "connection lost"})`, { cause: err });
  return err;
}
