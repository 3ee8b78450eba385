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

export type Row = Record<string, unknown>;

/** Rows of `execute`, whatever the driver returns (`{ rows }` or an array). */
export function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[];
  const rows = (result as { rows?: unknown } | null)?.rows;
  return Array.isArray(rows) ? (rows as Row[]) : [];
}

/** Affected row count of a write without RETURNING. */
export function countOf(result: unknown): number {
  const r = result as { rowCount?: unknown; count?: unknown; affectedRows?: unknown } | null;
  const n = r?.rowCount ?? r?.count ?? r?.affectedRows;
  return typeof n === "number" ? n : Number(n ?? 0);
}

export async function query(db: DrizzleExecutor, statement: SQL): Promise<Row[]> {
  return rowsOf(await db.execute(statement));
}

/**
 * A timestamptz column read back as `toISOString()` text on every driver (drivers disagree on
 * how they parse timestamps; the audit hash needs the exact string). The output keeps the
 * column's name, so an ORDER BY on that column must qualify it with the table (an unqualified
 * name would sort by this text and lose the index).
 */
export function isoOut(column: string): SQL {
  return sql.raw(`to_char("${column}" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "${column}"`);
}

/** A jsonb column read back as text, parsed by us: drivers disagree on JSON scalars. */
export function jsonOut(column: string): SQL {
  return sql.raw(`"${column}"::text AS "${column}"`);
}

/** A JSON value written as jsonb (JSON `null` stays the jsonb value null, not SQL NULL). */
export function jsonIn(value: unknown): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/** An ISO time written as timestamptz. */
export function tsIn(value: string | null | undefined): SQL {
  return value == null ? sql`NULL::timestamptz` : sql`${value}::timestamptz`;
}

/** `tenant_id = $1`, or `IS NULL` for the global scope (so the index is used either way). */
export function tenantIs(tenantId: string | null, column = "tenant_id"): SQL {
  return tenantId === null ? sql.raw(`"${column}" IS NULL`) : sql`${sql.raw(`"${column}"`)} = ${tenantId}`;
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : String(v);
}
export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : str(v);
}
export function num(v: unknown): number {
  return typeof v === "number" ? v : Number(v);
}
export function parseJson<T>(v: unknown): T {
  return (typeof v === "string" ? JSON.parse(v) : v) as T;
}
