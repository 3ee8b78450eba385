import type { TenantKey } from "@ops/core";
import { ident, sql, type Sql } from "./sql.js";

/**
 * A timestamptz column read back as `toISOString()` text on every driver (drivers disagree on
 * how they parse timestamps; the audit hash needs the exact string). The output keeps the
 * column's name, so an ORDER BY on that column must qualify it with the table (an unqualified
 * name would sort by this text and lose the index).
 */
export function isoOut(column: string): Sql {
  return sql.raw(`to_char(${ident(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${ident(column)}`);
}

/** A jsonb column read back as text, parsed by us: drivers disagree on JSON scalars. */
export function jsonOut(column: string): Sql {
  return sql.raw(`${ident(column)}::text AS ${ident(column)}`);
}

/** A JSON value written as jsonb (JSON `null` stays the jsonb value null, not SQL NULL). */
export function jsonIn(value: unknown): Sql {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/** An ISO time written as timestamptz. */
export function tsIn(value: string | null | undefined): Sql {
  return value == null ? sql`NULL::timestamptz` : sql`${value}::timestamptz`;
}

/** `tenant_id = $1`, or `IS NULL` for the global scope (so the index is used either way). */
export function tenantIs(tenantId: TenantKey, column = "tenant_id"): Sql {
  return tenantId === null ? sql.raw(`${ident(column)} IS NULL`) : sql`${sql.raw(ident(column))} = ${tenantId}::text`;
}

/** `IN (...)` of text values. */
export function inList(values: readonly string[]): Sql {
  return sql.join(values.map((v) => sql`${v}`));
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
export function bool(v: unknown): boolean {
  return v === true || v === "t" || v === "true" || v === 1;
}
