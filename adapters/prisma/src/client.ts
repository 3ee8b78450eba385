import type { PgExecutor, Row } from "@ops/adapter-postgres";

/**
 * The part of a Prisma client the adapter uses. Typed structurally so that any client generated
 * from any `schema.prisma` (with the @ops fragment pasted in) fits, whatever else it contains:
 * the adapter talks SQL through the raw-query methods, with bind parameters only.
 */
export interface PrismaSqlClient {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
}

/** A full client (not a transaction handle): it can also open interactive transactions. */
export interface PrismaClientLike extends PrismaSqlClient {
  /**
   * The interactive form. Prisma hands the callback the app's generated transaction client; the
   * adapter only uses its raw-query methods. (The batch-array overload is not used.)
   */
  $transaction<R>(fn: (tx: PrismaSqlClient) => Promise<R>, options?: { maxWait?: number; timeout?: number }): PromiseLike<R>;
}

/** Runs `fn` in an interactive transaction of `client` and returns its result. */
export function inTransaction<R>(
  client: PrismaClientLike,
  fn: (tx: PrismaSqlClient) => Promise<R>,
  options: { timeout?: number; maxWait?: number } = {},
): Promise<R> {
  return Promise.resolve(client.$transaction(fn, options));
}

/** Whether `value` has the raw-query methods of a Prisma client or transaction handle. */
export function isPrismaSqlClient(value: unknown): value is PrismaSqlClient {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { $queryRawUnsafe?: unknown }).$queryRawUnsafe === "function" &&
    typeof (value as { $executeRawUnsafe?: unknown }).$executeRawUnsafe === "function"
  );
}

/**
 * The executor of a PrismaClient (transactions through `$transaction`) or of an interactive
 * transaction handle (every statement in that transaction; a store transaction joins it).
 */
export function prismaExecutor(client: PrismaSqlClient, options: { timeoutMs?: number } = {}): PgExecutor {
  const ex: PgExecutor = {
    query: async (text, params) => Array.from(await client.$queryRawUnsafe<ArrayLike<Row>>(text, ...params)),
    transaction: (fn) =>
      typeof (client as Partial<PrismaClientLike>).$transaction === "function"
        ? inTransaction(client as PrismaClientLike, (tx) => fn(prismaExecutor(tx)), { timeout: options.timeoutMs ?? 60_000 })
        : fn(ex),
  };
  return ex;
}
