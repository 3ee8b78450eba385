import { AsyncLocalStorage } from "node:async_hooks";
import { TenantIsolationError, type TenantKey } from "@ops/core";
import { TenantScope, requireScopeKey } from "./tenant-scope.js";
import { tenantSettingValue } from "./with-tenant.js";

/** What the extension needs of a Prisma client (or of the `tx` of an interactive transaction). */
export interface PrismaTenantClient {
  $transaction<T>(fn: (tx: PrismaTenantTx) => Promise<T>, options?: PrismaTransactionOptions): Promise<T>;
}
export interface PrismaTenantTx {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}
export interface PrismaTransactionOptions {
  maxWait?: number;
  timeout?: number;
  isolationLevel?: string;
}

export interface TenantExtensionOptions {
  /**
   * Queries outside `$withTenant` are refused (default true). Set false only for a client whose
   * database role bypasses RLS on purpose (a migration or operator client).
   */
  requireTransaction?: boolean;
}

interface TxMarker {
  tenantId: TenantKey;
}
const KEY = Symbol.for("@ops/tenancy/prisma-tx");
const holder = globalThis as unknown as Record<symbol, AsyncLocalStorage<TxMarker> | undefined>;
const marker: AsyncLocalStorage<TxMarker> = (holder[KEY] ??= new AsyncLocalStorage<TxMarker>());

interface AllOperationsParams {
  model?: string;
  operation: string;
  args: unknown;
  query: (args: unknown) => PromiseLike<unknown>;
}

/**
 * A Prisma client extension: `prisma.$extends(tenantExtension())`.
 *
 * `prisma.$withTenant(async (tx) => ...)` opens ONE interactive transaction, sets
 * `app.tenant_id` transaction-locally as its first statement, and runs `fn` with `tx`. Rollback
 * works as with `$transaction`: a throw rolls back every query of `fn`.
 *
 * Unlike Prisma's RLS example extension (prisma#20678), no query is ever wrapped in a transaction
 * of its own: that hidden batch transaction commits on its own, outside the caller's interactive
 * transaction, so a later rollback leaves it applied. Instead a query outside `$withTenant` is
 * refused with `TenantIsolationError`: it would run without a tenant, and a lazy Prisma query
 * built in a scope but awaited after it is exactly that case.
 */
export function tenantExtension(options: TenantExtensionOptions = {}) {
  const strict = options.requireTransaction ?? true;
  return {
    name: "@ops/tenancy",
    client: {
      /**
       * Runs `fn` in an interactive transaction scoped to `tenantId` (default: the current scope's).
       * @throws TenantIsolationError outside a scope without `tenantId`, or when `tenantId` differs from the current tenant.
       * @throws ValidationError when `tenantId` is invalid.
       */
      $withTenant<T, Tx = PrismaTenantTx>(
        this: unknown,
        fn: (tx: Tx) => Promise<T>,
        opts: PrismaTransactionOptions & { tenantId?: TenantKey } = {},
      ): Promise<T> {
        const client = this as PrismaTenantClient;
        const tenantId = opts.tenantId !== undefined ? opts.tenantId : requireScopeKey();
        const value = tenantSettingValue(tenantId);
        const scope = tenantId === null ? TenantScope.global() : new TenantScope(tenantId);
        const { tenantId: _ignored, ...txOptions } = opts;
        return scope.run(() =>
          client.$transaction(
            (tx) =>
              marker.run({ tenantId }, async () => {
                await tx.$executeRaw`SELECT set_config('app.tenant_id', ${value}, true)`;
                return fn(tx as Tx);
              }),
            txOptions,
          ),
        );
      },
    },
    query: {
      $allOperations({ model, operation, args, query }: AllOperationsParams): PromiseLike<unknown> {
        const m = marker.getStore();
        if (!m && strict)
          return Promise.reject(
            new TenantIsolationError(
              `[ops/tenancy] prisma ${model ? `${model}.` : ""}${operation} ran outside $withTenant: run it as prisma.$withTenant(async (tx) => tx...) (a query built inside a scope but awaited after it has no tenant)`,
            ),
          );
        return query(args);
      },
    },
  };
}
