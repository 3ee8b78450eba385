import {
  ConflictError,
  NotFoundError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  type FlagRecord,
  type FlagStore,
  type JsonValue,
  type Page,
  type PageRequest,
  type TenantKey,
} from "@ops/core";
import { PKG, PrismaStoreBase } from "../base.js";
import { iso, json, tenantIs } from "../values.js";

interface FlagRow {
  env: string;
  key: string;
  tenant_id: string | null;
  config: string;
  version: number;
  updated_at: Date;
  updated_by: string;
}

const COLUMNS = `env, key, tenant_id, config::text AS config, version, updated_at, updated_by`;
/** One record: (env, key, tenant); the global scope (NULL) is one scope (the unique key is NULLS NOT DISTINCT). */
function exact(tenantId: TenantKey): string {
  return `env = $1 AND key = $2 AND ${tenantIs(tenantId, "$3")}`;
}

function toRecord(row: FlagRow): FlagRecord {
  return {
    env: row.env,
    key: row.key,
    tenantId: row.tenant_id,
    config: json<JsonValue>(row.config),
    version: Number(row.version),
    updatedAt: iso(row.updated_at),
    updatedBy: row.updated_by,
  };
}

function where(input: { env: string; key: string; tenantId: TenantKey }): string {
  return `${input.env}/${input.tenantId ?? "(global)"}/${input.key}`;
}

/** `FlagStore` on `ops_flags`: compare-and-set as one guarded INSERT or UPDATE, keyset list by key. */
export class PrismaFlagStore extends PrismaStoreBase implements FlagStore {
  async get(input: { env: string; key: string; tenantId: TenantKey }): Promise<FlagRecord | null> {
    return this.run("flags.get", async () => {
      const rows = await this.select<FlagRow>(`SELECT ${COLUMNS} FROM ops_flags WHERE ${exact(input.tenantId)}`, [input.env, input.key, input.tenantId]);
      return rows[0] ? toRecord(rows[0]) : null;
    });
  }

  /** @throws ConflictError when the record exists (expectedVersion null) or is at another version. */
  async put(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    config: JsonValue;
    expectedVersion: number | null;
    actor: string;
  }): Promise<FlagRecord> {
    return this.run("flags.put", async () => {
      const config = JSON.stringify(input.config);
      if (input.expectedVersion === null) {
        // The unique key makes the racing creators' INSERTs one guarded write: one row, the rest 0.
        const rows = await this.select<FlagRow>(
          `INSERT INTO ops_flags (env, key, tenant_id, config, version, updated_at, updated_by)
           VALUES ($1, $2, $3, $4::jsonb, 1, now(), $5)
           ON CONFLICT ON CONSTRAINT ops_flags_env_tenant_key_key DO NOTHING
           RETURNING ${COLUMNS}`,
          [input.env, input.key, input.tenantId, config, input.actor],
        );
        if (!rows[0]) throw new ConflictError(`[ops/${PKG}] flag ${where(input)} already exists`);
        return toRecord(rows[0]);
      }
      const rows = await this.select<FlagRow>(
        `UPDATE ops_flags SET config = $4::jsonb, version = version + 1, updated_at = now(), updated_by = $5
         WHERE ${exact(input.tenantId)} AND version = $6
         RETURNING ${COLUMNS}`,
        [input.env, input.key, input.tenantId, config, input.actor, input.expectedVersion],
      );
      if (!rows[0]) {
        const current = await this.get(input);
        throw new ConflictError(
          `[ops/${PKG}] flag ${where(input)} is at version ${current?.version ?? "(absent)"}, expected ${input.expectedVersion}`,
        );
      }
      return toRecord(rows[0]);
    });
  }

  /** @throws ConflictError when the stored version differs; NotFoundError when absent. */
  async delete(input: { env: string; key: string; tenantId: TenantKey; expectedVersion: number }): Promise<void> {
    return this.run("flags.delete", async () => {
      const n = await this.exec(`DELETE FROM ops_flags WHERE ${exact(input.tenantId)} AND version = $4`, [
        input.env,
        input.key,
        input.tenantId,
        input.expectedVersion,
      ]);
      if (n === 1) return;
      const current = await this.get(input);
      if (!current) throw new NotFoundError(`[ops/${PKG}] flag ${where(input)} does not exist`);
      throw new ConflictError(`[ops/${PKG}] flag ${where(input)} is at version ${current.version}, expected ${input.expectedVersion}`);
    });
  }

  /** @throws ValidationError for a bad limit or cursor. */
  async list(input: { env: string; tenantId: TenantKey } & PageRequest): Promise<Page<FlagRecord>> {
    const limit = pageLimit(input.limit, PKG);
    const after = input.cursor ? String(decodeCursor(input.cursor, 1, PKG)[0]) : null;
    return this.run("flags.list", async () => {
      const rows = await this.select<FlagRow>(
        `SELECT ${COLUMNS} FROM ops_flags
         WHERE env = $1 AND ${tenantIs(input.tenantId, "$2")} AND ($3::text IS NULL OR key > $3)
         ORDER BY key LIMIT $4`,
        [input.env, input.tenantId, after, limit + 1],
      );
      const items = rows.slice(0, limit).map(toRecord);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.key]) : null };
    });
  }

  async snapshot(input: { env: string }): Promise<FlagRecord[]> {
    return this.run("flags.snapshot", async () => {
      const rows = await this.select<FlagRow>(`SELECT ${COLUMNS} FROM ops_flags WHERE env = $1`, [input.env]);
      return rows.map(toRecord);
    });
  }
}
