import { UnavailableError, type StoreCapabilities } from "@ops/core";
import type { SQL } from "drizzle-orm";
import { query, type DrizzleDatabase, type DrizzleExecutor, type Row } from "./db.js";
import { mapDbError } from "./errors.js";
import type { OpsTables } from "./schema.js";

export const DRIZZLE_CAPABILITIES: StoreCapabilities = Object.freeze({
  transactions: true,
  pubsub: false,
  ttl: false,
  atomicCounters: true,
  durable: true,
  shared: true,
});

export interface DrizzleStoreContext {
  db: DrizzleDatabase;
  tables: OpsTables;
}

/** What every Drizzle store shares: the injected database, the tables and the closed state. */
export abstract class DrizzleStoreBase {
  readonly capabilities: StoreCapabilities = DRIZZLE_CAPABILITIES;
  protected readonly db: DrizzleDatabase;
  protected readonly t: OpsTables;
  private closed = false;

  constructor(ctx: DrizzleStoreContext) {
    this.db = ctx.db;
    this.t = ctx.tables;
  }

  /** @throws UnavailableError after close() */
  protected assertOpen(what: string): void {
    if (this.closed) throw new UnavailableError(`[ops/adapter-drizzle] ${what}: the store is closed`);
  }

  /** Runs one statement, errors mapped in the one place. */
  protected async q(what: string, statement: SQL, on: DrizzleExecutor = this.db): Promise<Row[]> {
    this.assertOpen(what);
    try {
      return await query(on, statement);
    } catch (err) {
      throw mapDbError(err, what);
    }
  }

  /** Runs `fn` in a transaction, errors mapped in the one place. */
  protected async tx<T>(what: string, fn: (tx: DrizzleExecutor) => Promise<T>): Promise<T> {
    this.assertOpen(what);
    try {
      return await this.db.transaction(fn);
    } catch (err) {
      throw mapDbError(err, what);
    }
  }

  /** Never closes the injected database: the app owns it. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
  }
}
