import { sql, type SQLWrapper } from "drizzle-orm";
import type { TenantKey } from "@ops/core";
import { TENANT_SETTING } from "./rls-sql.js";
import { TenantScope, requireScopeKey } from "./tenant-scope.js";
import { tenantSettingValue } from "./with-tenant.js";

/** What the helper needs of a Drizzle PostgreSQL transaction. */
export interface DrizzleTenantTx {
  execute(query: SQLWrapper): PromiseLike<unknown>;
}

/** A Drizzle PostgreSQL database (node-postgres, postgres.js, PGlite), or a transaction (nests as a savepoint). */
export interface DrizzleTenantDb<Tx extends DrizzleTenantTx, C> {
  transaction<T>(fn: (tx: Tx) => Promise<T>, config?: C): Promise<T>;
}

/**
 * Runs `fn` in a Drizzle transaction whose first statement is
 * `set_config('app.tenant_id', tenantId, true)`, so row-level security sees the tenant until the
 * transaction ends; `currentTenant()` is that tenant inside `fn`. Drizzle's own `transaction` does
 * the BEGIN/COMMIT/ROLLBACK: a throw (or `tx.rollback()`) in `fn` rolls back everything, including
 * the setting. Use the `tx` passed to `fn`: a query on `db` runs on another connection, where no
 * tenant is set and the policies return nothing.
 * @throws ValidationError when `tenantId` is invalid (no transaction is opened).
 */
export async function drizzleWithTenant<Tx extends DrizzleTenantTx, C, T>(
  db: DrizzleTenantDb<Tx, C>,
  tenantId: TenantKey,
  fn: (tx: Tx) => Promise<T>,
  config?: C,
): Promise<T> {
  const value = tenantSettingValue(tenantId);
  const scope = tenantId === null ? TenantScope.global() : new TenantScope(tenantId);
  return db.transaction(async (tx) => {
    const res = await tx.execute(
      sql`SELECT current_setting(${TENANT_SETTING}, true) AS prev, set_config(${TENANT_SETTING}, ${value}, true)`,
    );
    const result = await scope.run(() => fn(tx));
    // Nested on a tx this is a savepoint, and RELEASE keeps a transaction-local setting: give the
    // outer scope its tenant back. (Top level: prev is empty and the transaction ends here.)
    const prev = rowsOf(res)[0]?.prev;
    if (typeof prev === "string" && prev !== "" && prev !== value)
      await tx.execute(sql`SELECT set_config(${TENANT_SETTING}, ${prev}, true)`);
    return result;
  }, config);
}

/**
 * `drizzleWithTenant` with the current scope's tenant.
 * @throws TenantIsolationError outside any scope.
 */
export function drizzleWithCurrentTenant<Tx extends DrizzleTenantTx, C, T>(
  db: DrizzleTenantDb<Tx, C>,
  fn: (tx: Tx) => Promise<T>,
  config?: C,
): Promise<T> {
  return drizzleWithTenant(db, requireScopeKey(), fn, config);
}

/** Rows of `execute`'s result: node-postgres and PGlite return `{ rows }`, postgres.js an array. */
function rowsOf(res: unknown): Array<{ prev?: unknown }> {
  if (Array.isArray(res)) return res as Array<{ prev?: unknown }>;
  const rows = (res as { rows?: unknown } | null)?.rows;
  return Array.isArray(rows) ? (rows as Array<{ prev?: unknown }>) : [];
}
