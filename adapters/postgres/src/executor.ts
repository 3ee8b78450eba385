import { ConfigError } from "@ops/core";

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
  /**
   * Optional one-time check the stores await before their first statement: returns a promise
   * while the check runs (or failed), `null` once it passed. `postgresJsExecutor` uses it to refuse
   * a client that prepares statements through a pooler.
   */
  ready?(): Promise<void> | null;
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
  unsafe(query: string, params?: unknown[], options?: { prepare?: boolean }): PromiseLike<ArrayLike<Row> & { state?: unknown }>;
  begin?: <T>(fn: (tx: PostgresJsLike) => Promise<T>) => PromiseLike<T>;
  /** The client's options (postgres.js exposes them as `sql.options`); `prepare` defaults to true there. */
  options?: { prepare?: boolean } | undefined;
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

/**
 * Whether a postgres.js client may be used by the stores. With `prepare: true` (postgres.js's
 * default) every tagged query and the COMMIT of `sql.begin` is a named prepared statement; through
 * a transaction pooler (PgBouncer `pool_mode=transaction`, Supabase's and Neon's poolers, RDS
 * Proxy) that COMMIT can reach another server connection, fail, be re-prepared inside the aborted
 * transaction and be answered with a silent rollback: acknowledged writes are lost. So a client
 * that prepares must prove a direct connection: the backend key PostgreSQL sent at connect names
 * the same server process that answers `pg_backend_pid()`. A pooler sends a key of its own.
 * Resolves when the client does not prepare or is direct.
 * @throws ConfigError naming `prepare: false` when the client prepares and is not direct.
 */
export async function checkPostgresJsClient(sql: PostgresJsLike, pkg = "adapter-postgres"): Promise<void> {
  if (sql.options?.prepare !== true) return;
  const result = await sql.unsafe("SELECT pg_backend_pid() AS pid", [], { prepare: false });
  const keyPid = (result.state as { pid?: unknown } | undefined)?.pid;
  const servedBy = Number(Array.from(result)[0]?.pid);
  if (typeof keyPid === "number" && keyPid === servedBy) return;
  throw new ConfigError(
    `[ops/${pkg}] invalid sql: this postgres.js client prepares statements (prepare: true, its default) and does not reach PostgreSQL directly (a connection pooler answers: its backend key names no server process). Through a transaction pooler prepared statements lose acknowledged commits. Create the client with postgres(url, { prepare: false }), or connect it to PostgreSQL directly.`,
    [{ path: "sql.options.prepare", message: "expected prepare: false behind a connection pooler" }],
  );
}

/**
 * An executor over postgres.js (`postgres(url)`, or the `sql` of `sql.begin(async (sql) => ...)`).
 * Before the stores' first statement it runs `checkPostgresJsClient` once: a client with
 * `prepare: true` behind a pooler is refused with a ConfigError instead of losing commits.
 */
export function postgresJsExecutor(client: PostgresJsLike, options: { pkg?: string } = {}): PgExecutor {
  let checked: Promise<void> | null | undefined = client.options?.prepare === true ? undefined : null;
  const ex: PgExecutor = {
    query: async (text, params) => Array.from(await client.unsafe(text, withArraysAsText(params))),
    transaction: (fn) =>
      typeof client.begin === "function"
        ? Promise.resolve(client.begin((tx) => fn(postgresJsExecutor({ unsafe: tx.unsafe.bind(tx) }))))
        : fn(ex),
    ready() {
      if (checked === undefined)
        checked = checkPostgresJsClient(client, options.pkg).then(
          () => void (checked = null),
          (err: unknown) => {
            // A refused client stays refused; a connection error is retried by the next call.
            if (!(err instanceof ConfigError)) checked = undefined;
            throw err;
          },
        );
      return checked;
    },
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
