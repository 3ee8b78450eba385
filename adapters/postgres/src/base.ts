import { UnavailableError, ValidationError, type Clock, type StoreCapabilities } from "@ops/core";
import { mapPgError } from "./errors.js";
import type { PgExecutor, Row } from "./executor.js";
import type { PgListener } from "./notifications.js";
import { compile, type Sql } from "./sql.js";
import { opsTableNames, type OpsTableNames } from "./tables.js";

export const POSTGRES_CAPABILITIES: StoreCapabilities = Object.freeze({
  transactions: true,
  pubsub: false,
  ttl: false,
  atomicCounters: true,
  durable: true,
  shared: true,
  erasure: true,
  effects: true,
});

/** What every store is built from; shims fill it in for their driver. */
export interface PgStoreContext {
  exec: PgExecutor;
  /** PostgreSQL schema of the tables (default: the connection's search_path). */
  schema?: string | undefined;
  /** The package named in error messages (`adapter-drizzle`, `adapter-prisma`, `adapter-postgres`). */
  pkg?: string | undefined;
  clock?: Clock | undefined;
  /** LISTEN connection: enables `flags.subscribe`. */
  listener?: PgListener | undefined;
  /**
   * Turns the `tx` given to `outbox.enqueue` into an executor on that transaction, or returns
   * null when it is not one (the shim's driver decides what a transaction handle is).
   */
  adoptTx?: ((tx: unknown) => PgExecutor | null) | undefined;
  /** What `adoptTx` expects, for the ValidationError of a wrong `tx`. */
  txExpected?: string | undefined;
  capabilities?: Partial<StoreCapabilities> | undefined;
}

/** What every PostgreSQL store shares: the executor, the table names, the closed state, one error path. */
export abstract class PgStoreBase {
  readonly capabilities: StoreCapabilities;
  protected readonly exec: PgExecutor;
  protected readonly t: OpsTableNames;
  protected readonly pkg: string;
  protected readonly ctx: PgStoreContext;
  private closed = false;

  constructor(ctx: PgStoreContext) {
    this.ctx = ctx;
    this.exec = ctx.exec;
    this.t = opsTableNames(ctx.schema);
    this.pkg = ctx.pkg ?? "adapter-postgres";
    this.capabilities = Object.freeze({ ...POSTGRES_CAPABILITIES, ...ctx.capabilities });
  }

  /** @throws UnavailableError after close() */
  protected assertOpen(what: string): void {
    if (this.closed) throw new UnavailableError(`[ops/${this.pkg}] ${what}: the store is closed`);
  }

  protected invalid(path: string, message: string): ValidationError {
    return new ValidationError(`[ops/${this.pkg}] invalid ${path}: ${message}`, [{ path, message }]);
  }

  /** Runs one statement, errors mapped in the one place. */
  protected async q(what: string, statement: Sql, on: PgExecutor = this.exec): Promise<Row[]> {
    this.assertOpen(what);
    const { text, params } = compile(statement);
    try {
      return await on.query(text, params);
    } catch (err) {
      throw mapPgError(err, what, this.pkg);
    }
  }

  /** Runs `fn` in a transaction, errors mapped in the one place. */
  protected async tx<T>(what: string, fn: (tx: PgExecutor) => Promise<T>): Promise<T> {
    this.assertOpen(what);
    try {
      return await this.exec.transaction(fn);
    } catch (err) {
      throw mapPgError(err, what, this.pkg);
    }
  }

  /** Never closes the executor's connections: the app owns them. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
  }
}
