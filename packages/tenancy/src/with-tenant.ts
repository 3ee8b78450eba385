import { TenantIdSchema, ValidationError, type TenantKey } from "@ops/core";
import { GLOBAL_SCOPE_SETTING, TENANT_SETTING } from "./rls-sql.js";
import { TenantScope, requireScopeKey } from "./tenant-scope.js";

/** A pg `Client` or `PoolClient` (anything with node-postgres' `query(text, values)`). */
export interface SqlQueryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** A pg `Pool`. */
export interface SqlPool {
  connect(): Promise<SqlQueryable & { release(err?: Error | boolean): void }>;
}

/**
 * What a pool looks like (node-postgres `Pool` and look-alikes): every `query` may run on a
 * different connection, so BEGIN, `set_config` and the queries would not share a transaction.
 */
export interface PoolShape {
  totalCount: number;
}

/** A type a pool does not satisfy: `withTenant(pool, ...)` fails to compile with this message as the missing key. */
export type NotAPool<T> = T extends PoolShape
  ? { "withTenant needs ONE connection, not a pool: use withTenantConnection(pool, ...) or pass `await pool.connect()`": never }
  : unknown;

function refusePool(tx: unknown, fn: string): void {
  const t = tx as Record<string, unknown> | null;
  if (typeof t === "object" && t !== null && (typeof t.totalCount === "number" || typeof t.idleCount === "number"))
    throw new ValidationError(
      `[ops/tenancy] invalid tx: ${fn} needs one connection, not a pool (each pool.query may run on another connection, so BEGIN, set_config and your queries would not share a transaction and could read another tenant's rows). Use withTenantConnection(pool, tenantId, fn), or const client = await pool.connect() and pass client (then client.release()).`,
      [{ path: "tx", message: "expected one connection (pool.connect()), not a pool" }],
    );
}

export interface WithTenantOptions {
  /**
   * `"begin"` (default): `withTenant` opens and ends the transaction itself (BEGIN, COMMIT, or
   * ROLLBACK when `fn` throws). `"join"`: the caller already ran BEGIN on `tx`; the setting is
   * made for the rest of that transaction and restored when `fn` returns.
   */
  transaction?: "begin" | "join";
}

/**
 * The value to store in `app.tenant_id` for a scope key: the tenant id, or the global marker.
 * @throws ValidationError when the id is not a valid tenant id.
 */
export function tenantSettingValue(tenantId: TenantKey): string {
  if (tenantId === null) return GLOBAL_SCOPE_SETTING;
  const parsed = TenantIdSchema.safeParse(tenantId);
  if (!parsed.success)
    throw new ValidationError(`[ops/tenancy] invalid tenantId: expected a tenant id (letters, digits, . _ : -) or null`, [
      { path: "tenantId", message: "expected a tenant id or null" },
    ]);
  return parsed.data;
}

/** The statement that scopes the current transaction (parameter $1: the setting value). */
export const SET_TENANT_SQL = `SELECT set_config('${TENANT_SETTING}', $1, true)`;

/**
 * Runs `fn` in a transaction where PostgreSQL row-level security sees `tenantId` (`null`: the
 * global scope), and where `currentTenant()` is that tenant too. The setting is made with
 * `set_config(..., true)`: transaction-local, so it ends with the transaction and never leaks to
 * the next user of a pooled connection (a session-level SET would).
 * `tx` is ONE connection (a pg `Client` or `PoolClient`): a `Pool` is refused at compile time and
 * at run time, since its queries may each run on another connection (use `withTenantConnection`).
 * @throws ValidationError when `tenantId` is invalid or `tx` is a pool (nothing is sent to the database).
 * @throws whatever `fn` or the database throws, after ROLLBACK.
 */
export async function withTenant<T, Tx extends SqlQueryable>(
  tx: Tx & NotAPool<Tx>,
  tenantId: TenantKey,
  fn: (tx: Tx) => Promise<T>,
  options: WithTenantOptions = {},
): Promise<T> {
  refusePool(tx, "withTenant");
  const value = tenantSettingValue(tenantId);
  const scope = tenantId === null ? TenantScope.global() : new TenantScope(tenantId);
  if (options.transaction === "join") {
    const prev = (await tx.query(`SELECT current_setting('${TENANT_SETTING}', true) AS v`)) as { rows: Array<{ v: string | null }> };
    const restore = () => tx.query(SET_TENANT_SQL, [prev.rows[0]?.v ?? ""]);
    await tx.query(SET_TENANT_SQL, [value]);
    let result: T;
    try {
      result = await scope.run(() => fn(tx));
    } catch (err) {
      // The caller's transaction goes on after a throw (or a refused nested scope): it must not
      // keep this tenant. A failed restore means an aborted transaction, which can only roll back.
      await restore().catch(() => undefined);
      throw err;
    }
    await restore();
    return result;
  }
  await tx.query("BEGIN");
  try {
    await tx.query(SET_TENANT_SQL, [value]);
    const result = await scope.run(() => fn(tx));
    await tx.query("COMMIT");
    return result;
  } catch (err) {
    try {
      await tx.query("ROLLBACK");
    } catch {
      // The connection is broken; the original error says more.
    }
    throw err;
  }
}

/**
 * `withTenant` with the current scope's tenant.
 * @throws TenantIsolationError outside any scope.
 */
export async function withCurrentTenant<T, Tx extends SqlQueryable>(
  tx: Tx & NotAPool<Tx>,
  fn: (tx: Tx) => Promise<T>,
  options: WithTenantOptions = {},
): Promise<T> {
  refusePool(tx, "withCurrentTenant");
  return withTenant(tx, requireScopeKey(), fn, options);
}

/**
 * Checks a connection out of `pool`, runs `withTenant` on it, and releases it (destroying it when
 * the transaction could not be ended cleanly).
 */
export async function withTenantConnection<T>(pool: SqlPool, tenantId: TenantKey, fn: (client: SqlQueryable) => Promise<T>): Promise<T> {
  tenantSettingValue(tenantId); // validate before taking a connection
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await withTenant(client as SqlQueryable, tenantId, fn);
  } catch (err) {
    // A failed ROLLBACK leaves the connection in an unknown state: do not hand it to the next tenant.
    broken = await client.query("SELECT 1").then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    throw err;
  } finally {
    client.release(broken ?? false);
  }
}
