import {
  ConflictError,
  NotFoundError,
  UnavailableError,
  decodeCursor,
  encodeCursor,
  guardStore,
  pageLimit,
  type FlagRecord,
  type FlagStore,
  type JsonValue,
  type Page,
  type PageRequest,
  type StoreCapabilities,
  type TenantKey,
} from "@ops/core";
import type { Database, SqlValue } from "sql.js";

const PKG = "[ops/example-sqlite-store]";

/** The table. `tenant` is '' for the global scope: SQLite's UNIQUE treats NULLs as distinct. */
export const FLAGS_DDL = `
CREATE TABLE IF NOT EXISTS ops_flags (
  env        TEXT    NOT NULL,
  tenant     TEXT    NOT NULL,
  key        TEXT    NOT NULL,
  config     TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  updated_at TEXT    NOT NULL,
  updated_by TEXT    NOT NULL,
  PRIMARY KEY (env, tenant, key)
) WITHOUT ROWID`;

// Tenant ids are never empty (core's schema), so '' cannot collide with a real tenant.
const tenantCol = (tenantId: TenantKey): string => tenantId ?? "";

/**
 * A `FlagStore` on SQLite (sql.js, SQLite compiled to WebAssembly). Compare-and-set is one
 * guarded statement whose affected-row count says who won; keys sort in binary order, which is
 * SQLite's default collation, so keyset paging matches the contract. No pub/sub: SQLite cannot
 * tell other processes about a write (`capabilities.pubsub: false`, so readers poll).
 */
export class SqliteFlagStore implements FlagStore {
  readonly capabilities: StoreCapabilities = {
    transactions: false,
    pubsub: false,
    ttl: false,
    atomicCounters: false,
    durable: false, // sql.js keeps the database in memory; use a file-backed driver for durability
    shared: false,
  };
  private closed = false;

  constructor(private readonly db: Database) {
    db.run(FLAGS_DDL);
    // The contract's input checks (@ops/core's one accept/reject table), before any SQL runs.
    guardStore("flags", this);
  }

  async get(input: { env: string; key: string; tenantId: TenantKey }): Promise<FlagRecord | null> {
    this.assertOpen();
    const row = this.one("SELECT * FROM ops_flags WHERE env = ? AND tenant = ? AND key = ?", [
      input.env,
      tenantCol(input.tenantId),
      input.key,
    ]);
    return row ? toRecord(row) : null;
  }

  async put(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    config: JsonValue;
    expectedVersion: number | null;
    actor: string;
  }): Promise<FlagRecord> {
    this.assertOpen();
    const now = new Date().toISOString();
    const at = [input.env, tenantCol(input.tenantId), input.key];
    const where = `${input.env}/${input.tenantId ?? "(global)"}/${input.key}`;
    const config = JSON.stringify(input.config);
    if (input.expectedVersion === null) {
      // Create: the primary key makes exactly one of N racing creators win.
      this.db.run("INSERT INTO ops_flags VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING", [...at, config, now, input.actor]);
      if (this.db.getRowsModified() !== 1) throw new ConflictError(`${PKG} flag ${where} already exists`);
    } else {
      // Update: guarded on the version the caller read.
      this.db.run(
        "UPDATE ops_flags SET config = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE env = ? AND tenant = ? AND key = ? AND version = ?",
        [config, now, input.actor, ...at, input.expectedVersion],
      );
      if (this.db.getRowsModified() !== 1) throw new ConflictError(`${PKG} flag ${where} is not at version ${input.expectedVersion}`);
    }
    return (await this.get(input))!;
  }

  async delete(input: { env: string; key: string; tenantId: TenantKey; expectedVersion: number }): Promise<void> {
    this.assertOpen();
    const at = [input.env, tenantCol(input.tenantId), input.key];
    const where = `${input.env}/${input.tenantId ?? "(global)"}/${input.key}`;
    this.db.run("DELETE FROM ops_flags WHERE env = ? AND tenant = ? AND key = ? AND version = ?", [...at, input.expectedVersion]);
    if (this.db.getRowsModified() === 1) return;
    const current = this.one("SELECT version FROM ops_flags WHERE env = ? AND tenant = ? AND key = ?", at);
    if (!current) throw new NotFoundError(`${PKG} flag ${where} does not exist`);
    throw new ConflictError(`${PKG} flag ${where} is at version ${String(current.version)}, expected ${input.expectedVersion}`);
  }

  async list(input: { env: string; tenantId: TenantKey } & PageRequest): Promise<Page<FlagRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "example-sqlite-store");
    const after = input.cursor ? String(decodeCursor(input.cursor, 1, "example-sqlite-store")[0]) : null;
    // Keyset paging: one row more than the page tells whether another page exists.
    const rows = this.all(
      `SELECT * FROM ops_flags WHERE env = ? AND tenant = ?${after === null ? "" : " AND key > ?"} ORDER BY key LIMIT ?`,
      after === null ? [input.env, tenantCol(input.tenantId), limit + 1] : [input.env, tenantCol(input.tenantId), after, limit + 1],
    );
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.key]) : null };
  }

  async snapshot(input: { env: string }): Promise<FlagRecord[]> {
    this.assertOpen();
    return this.all("SELECT * FROM ops_flags WHERE env = ?", [input.env]).map(toRecord);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError(`${PKG} the store is closed`);
  }

  private one(sql: string, params: SqlValue[]): Record<string, SqlValue> | null {
    return this.all(sql, params)[0] ?? null;
  }

  private all(sql: string, params: SqlValue[]): Array<Record<string, SqlValue>> {
    const stmt = this.db.prepare(sql, params);
    try {
      const rows: Array<Record<string, SqlValue>> = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      return rows;
    } finally {
      stmt.free();
    }
  }
}

function toRecord(row: Record<string, SqlValue>): FlagRecord {
  return {
    env: String(row.env),
    key: String(row.key),
    tenantId: row.tenant === "" ? null : String(row.tenant),
    config: JSON.parse(String(row.config)) as JsonValue,
    version: Number(row.version),
    updatedAt: String(row.updated_at),
    updatedBy: String(row.updated_by),
  };
}
