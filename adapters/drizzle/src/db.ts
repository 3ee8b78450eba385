import {
  isPgExecutor,
  nodePgExecutor,
  pgArrayLiteral,
  pgliteExecutor,
  postgresJsExecutor,
  type NodePgPoolLike,
  type PgExecutor,
  type PgliteLike,
  type PostgresJsLike,
  type Row,
} from "@ops/adapter-postgres";
import { sql, type SQL } from "drizzle-orm";

/**
 * What the stores need from a Drizzle PostgreSQL database (node-postgres, postgres.js or PGlite):
 * raw statements and transactions. Structural, so any `drizzle(...)` result fits.
 */
export interface DrizzleExecutor {
  execute(query: SQL): PromiseLike<unknown>;
}

/** A Drizzle PostgreSQL database (`drizzle(pool)`, `drizzle(postgres(...))`, `drizzle(pglite)`). */
export interface DrizzleDatabase extends DrizzleExecutor {
  transaction<T>(fn: (tx: DrizzleTransaction) => Promise<T>): Promise<T>;
}

/** A transaction handle from `db.transaction(async (tx) => ...)`. */
export type DrizzleTransaction = DrizzleExecutor;

function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  const rows = (result as { rows?: unknown } | null)?.rows;
  return Array.isArray(rows) ? (rows as Row[]) : [];
}

/**
 * `$n` placeholders of a statement, outside quoted text and identifiers: the statement is
 * rebuilt as Drizzle SQL with the same parameters.
 */
function toDrizzleSql(text: string, params: readonly unknown[]): SQL {
  const parts: SQL[] = [];
  let last = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "$" && /\d/.test(text[i + 1] ?? "")) {
      let j = i + 1;
      while (/\d/.test(text[j] ?? "")) j++;
      const value = params[Number(text.slice(i + 1, j)) - 1];
      // Drizzle would spread a JS array into a list of parameters: bind it as one array value.
      parts.push(sql.raw(text.slice(last, i)), sql`${Array.isArray(value) ? pgArrayLiteral(value) : value}`);
      last = j;
      i = j - 1;
    }
  }
  parts.push(sql.raw(text.slice(last)));
  return sql.join(parts);
}

/** An executor over any Drizzle database or transaction handle, through its `execute`. */
export function drizzleExecuteExecutor(db: DrizzleExecutor): PgExecutor {
  const ex: PgExecutor = {
    query: async (text, params) => rowsOf(await db.execute(toDrizzleSql(text, params))),
    transaction: (fn) => {
      const d = db as Partial<DrizzleDatabase>;
      return typeof d.transaction === "function" ? d.transaction((tx) => fn(drizzleExecuteExecutor(tx))) : fn(ex);
    },
  };
  return ex;
}

/**
 * The executor of a Drizzle database: straight on the driver client Drizzle wraps (`db.$client`:
 * a node-postgres Pool, a postgres.js `sql`, a PGlite) when it is one of those, so no statement
 * pays for Drizzle's query building; otherwise through `db.execute`.
 */
export function drizzleToExecutor(db: DrizzleExecutor): PgExecutor {
  const client = (db as { $client?: unknown }).$client as Record<string, unknown> | ((...a: unknown[]) => unknown) | undefined;
  if (client !== undefined && client !== null) {
    if (typeof (client as Partial<PostgresJsLike>).unsafe === "function")
      return postgresJsExecutor(client as unknown as PostgresJsLike, { pkg: "adapter-drizzle" });
    const c = client as Record<string, unknown>;
    if (typeof c.query === "function" && typeof c.connect === "function" && typeof c.totalCount === "number")
      return nodePgExecutor(client as unknown as NodePgPoolLike);
    if (
      typeof c.query === "function" &&
      typeof c.exec === "function" &&
      typeof c.listen === "function" &&
      typeof c.transaction === "function"
    )
      return pgliteExecutor(client as unknown as PgliteLike);
  }
  return drizzleExecuteExecutor(db);
}

/** The executor of a caller's transaction (`outbox.enqueue({ tx })`), or null when `tx` is not one. */
export function adoptDrizzleTx(tx: unknown): PgExecutor | null {
  if (typeof (tx as DrizzleExecutor | null)?.execute === "function") return drizzleExecuteExecutor(tx as DrizzleExecutor);
  return isPgExecutor(tx) ? tx : null;
}
