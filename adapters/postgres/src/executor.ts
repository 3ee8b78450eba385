/** One result row, keyed by column name. */
export type Row = Record<string, unknown>;

/**
 * What every @ops PostgreSQL store runs on: parameterised statements and transactions. Nothing
 * else, and no session state (no `SET`, no session-level `set_config`, no prepared statement of its
 * own), so an executor over a transaction pooler (PgBouncer transaction mode) works.
 *
 * Shims turn a driver into one: `nodePgExecutor(pool)`, `postgresJsExecutor(sql)`,
 * `pgliteExecutor(pglite)` here; `@ops/adapter-drizzle` and `@ops/adapter-prisma` do the same for
 * a Drizzle database or a PrismaClient.
 */
export interface PgExecutor {
  /** Runs one statement with `$1..$n` bind parameters; resolves with its rows (`[]` without RETURNING). */
  query(text: string, params: readonly unknown[]): Promise<Row[]>;
  /**
   * Runs `fn` in one transaction on one connection and commits, or rolls back when it throws. An
   * executor that is already a transaction runs `fn` in itself.
   */
  transaction<T>(fn: (tx: PgExecutor) => Promise<T>): Promise<T>;
}

/** Whether `value` looks like a `PgExecutor`. */
export function isPgExecutor(value: unknown): value is PgExecutor {
  const v = value as Partial<PgExecutor> | null;
  return typeof v === "object" && v !== null && typeof v.query === "function" && typeof v.transaction === "function";
}

/** The part of a node-postgres `Client`/`PoolClient` the executor uses. */
export interface NodePgClientLike {
  query(config: { text: string; values: unknown[] }): Promise<{ rows: Row[] }>;
}
/** The part of a node-postgres `Pool` the executor uses. */
export interface NodePgPoolLike extends NodePgClientLike {
  connect(): Promise<NodePgClientLike & { release(err?: Error | boolean): void }>;
  totalCount: number;
}

function nodePgClientExecutor(client: NodePgClientLike): PgExecutor {
  const ex: PgExecutor = {
    query: async (text, params) => (await client.query({ text, values: params as unknown[] })).rows,
    transaction: (fn) => fn(ex),
  };
  return ex;
}

/**
 * An executor over node-postgres: a `Pool` (a transaction takes one pooled client for its
 * duration) or one connected `Client`/`PoolClient` (every statement on it; it joins any
 * transaction the app opened there).
 */
export function nodePgExecutor(poolOrClient: NodePgPoolLike | NodePgClientLike): PgExecutor {
  const pool = poolOrClient as Partial<NodePgPoolLike>;
  if (typeof pool.connect !== "function" || typeof pool.totalCount !== "number") return nodePgClientExecutor(poolOrClient);
  const p = poolOrClient as NodePgPoolLike;
  return {
    query: async (text, params) => (await p.query({ text, values: params as unknown[] })).rows,
    async transaction(fn) {
      const client = await p.connect();
      let broken: Error | undefined;
      try {
        await client.query({ text: "BEGIN", values: [] });
        const result = await fn(nodePgClientExecutor(client));
        await client.query({ text: "COMMIT", values: [] });
        return result;
      } catch (err) {
        await client.query({ text: "ROLLBACK", values: [] }).catch((e: unknown) => {
          // A connection that cannot roll back is not returned to the pool.
          broken = e instanceof Error ? e : new Error(String(e));
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
  };
}

/** The part of a postgres.js `sql` (or a transaction `sql` of `sql.begin`) the executor uses. */
export interface PostgresJsLike {
  unsafe(query: string, params?: unknown[]): PromiseLike<ArrayLike<Row>>;
  begin?: <T>(fn: (tx: PostgresJsLike) => Promise<T>) => PromiseLike<T>;
}

/**
 * A one-dimensional array as PostgreSQL array text (`{"a",NULL,"b"}`): what node-postgres sends
 * for a JS array. postgres.js does not serialise a plain array bound to an untyped parameter.
 */
export function pgArrayLiteral(values: readonly unknown[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    out += v === null || v === undefined ? "NULL" : `"${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  }
  return `${out}}`;
}

const withArraysAsText = (params: readonly unknown[]): unknown[] => params.map((p) => (Array.isArray(p) ? pgArrayLiteral(p) : p));

/** An executor over postgres.js (`postgres(url)`, or the `sql` of `sql.begin(async (sql) => ...)`). */
export function postgresJsExecutor(client: PostgresJsLike): PgExecutor {
  const ex: PgExecutor = {
    query: async (text, params) => Array.from(await client.unsafe(text, withArraysAsText(params))),
    transaction: (fn) =>
      typeof client.begin === "function"
        ? Promise.resolve(client.begin((tx) => fn(postgresJsExecutor({ unsafe: tx.unsafe.bind(tx) }))))
        : fn(ex),
  };
  return ex;
}

/** The part of a PGlite instance (or its transaction) the executor uses. */
export interface PgliteLike {
  query<T = Row>(query: string, params?: unknown[]): Promise<{ rows: T[] }>;
  transaction?: <T>(fn: (tx: PgliteLike) => Promise<T>) => Promise<T>;
}

/** An executor over PGlite (embedded PostgreSQL in WASM). */
export function pgliteExecutor(pglite: PgliteLike): PgExecutor {
  const ex: PgExecutor = {
    query: async (text, params) => (await pglite.query<Row>(text, params as unknown[])).rows,
    transaction: (fn) =>
      typeof pglite.transaction === "function" ? pglite.transaction((tx) => fn(pgliteExecutor({ query: tx.query.bind(tx) }))) : fn(ex),
  };
  return ex;
}
