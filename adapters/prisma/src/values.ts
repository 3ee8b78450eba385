/** Conversions between what pg returns through Prisma and the store records' JSON shapes. */

/** A timestamptz as ISO 8601 UTC with milliseconds (`2024-01-01T00:00:00.000Z`). */
export function iso(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return new Date(String(value)).toISOString();
}

export function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : iso(value);
}

/** bigint and numeric columns come back as bigint or string; counts fit in a double. */
export function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

/** Optional text columns: SQL NULL becomes an absent property. */
export function opt<K extends string>(key: K, value: unknown): { [P in K]?: string } {
  return value === null || value === undefined ? {} : ({ [key]: String(value) } as { [P in K]?: string });
}

/** jsonb is selected as text (`col::text`) so every JSON value, strings included, parses one way. */
export function json<T>(value: unknown): T {
  return (value === null || value === undefined ? null : JSON.parse(String(value))) as T;
}

/**
 * The tenant condition of a query. NULL is the global scope; `tenant_id IS NOT DISTINCT FROM $n`
 * would say the same but no btree index serves it, so the SQL text differs by scope. The
 * parameter stays referenced (typed) in both forms, so the bind values never change shape.
 */
export function tenantIs(tenantId: string | null, param: string, column = "tenant_id"): string {
  return tenantId === null ? `(${column} IS NULL AND ${param}::text IS NULL)` : `${column} = ${param}::text`;
}
