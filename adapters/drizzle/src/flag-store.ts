import {
  ConflictError,
  NotFoundError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  systemClock,
  type Clock,
  type FlagRecord,
  type FlagStore,
  type JsonValue,
  type Page,
  type PageRequest,
  type TenantKey,
} from "@ops/core";
import { sql } from "drizzle-orm";
import { DrizzleStoreBase, type DrizzleStoreContext } from "./base.js";
import { isoOut, jsonIn, jsonOut, num, parseJson, str, strOrNull, tenantIs, tsIn, type Row } from "./db.js";

const COLUMNS = sql.join(
  [sql.raw(`"env", "key", "tenant_id", "version", "updated_by"`), jsonOut("config"), isoOut("updated_at")],
  sql`, `,
);

function toRecord(r: Row): FlagRecord {
  return {
    env: str(r.env),
    key: str(r.key),
    tenantId: strOrNull(r.tenant_id),
    config: parseJson<JsonValue>(r.config),
    version: num(r.version),
    updatedAt: str(r.updated_at),
    updatedBy: str(r.updated_by),
  };
}

function where(input: { env: string; key: string; tenantId: TenantKey }): string {
  return `${input.env}/${input.tenantId ?? "(global)"}/${input.key}`;
}

/**
 * `FlagStore` on PostgreSQL: every write is one guarded statement (INSERT ... ON CONFLICT DO
 * NOTHING for creates, UPDATE/DELETE ... WHERE version = expected), so exactly one of many
 * concurrent writers wins. No pub/sub: pair it with the Redis adapter for change propagation.
 */
export class DrizzleFlagStore extends DrizzleStoreBase implements FlagStore {
  private readonly clock: Clock;

  constructor(ctx: DrizzleStoreContext & { clock?: Clock }) {
    super(ctx);
    this.clock = ctx.clock ?? systemClock;
  }

  async get(input: { env: string; key: string; tenantId: TenantKey }): Promise<FlagRecord | null> {
    const rows = await this.q(
      `flags.get ${where(input)}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.flags} WHERE "env" = ${input.env} AND "key" = ${input.key} AND ${tenantIs(input.tenantId)}`,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async put(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    config: JsonValue;
    expectedVersion: number | null;
    actor: string;
  }): Promise<FlagRecord> {
    const what = `flags.put ${where(input)}`;
    const now = this.clock.date().toISOString();
    if (input.expectedVersion === null) {
      const rows = await this.q(
        what,
        sql`INSERT INTO ${this.t.flags} ("env", "key", "tenant_id", "config", "version", "updated_at", "updated_by")
            VALUES (${input.env}, ${input.key}, ${input.tenantId}, ${jsonIn(input.config)}, 1, ${tsIn(now)}, ${input.actor})
            ON CONFLICT ON CONSTRAINT ops_flags_env_tenant_key_key DO NOTHING
            RETURNING ${COLUMNS}`,
      );
      if (rows[0]) return toRecord(rows[0]);
      throw new ConflictError(`[ops/adapter-drizzle] flag ${where(input)} already exists`);
    }
    const rows = await this.q(
      what,
      sql`UPDATE ${this.t.flags}
          SET "config" = ${jsonIn(input.config)}, "version" = "version" + 1, "updated_at" = ${tsIn(now)}, "updated_by" = ${input.actor}
          WHERE "env" = ${input.env} AND "key" = ${input.key} AND ${tenantIs(input.tenantId)} AND "version" = ${input.expectedVersion}
          RETURNING ${COLUMNS}`,
    );
    if (rows[0]) return toRecord(rows[0]);
    const current = await this.get(input);
    throw new ConflictError(
      `[ops/adapter-drizzle] flag ${where(input)} is at version ${current?.version ?? "(absent)"}, expected ${input.expectedVersion}`,
    );
  }

  async delete(input: { env: string; key: string; tenantId: TenantKey; expectedVersion: number }): Promise<void> {
    const rows = await this.q(
      `flags.delete ${where(input)}`,
      sql`DELETE FROM ${this.t.flags}
          WHERE "env" = ${input.env} AND "key" = ${input.key} AND ${tenantIs(input.tenantId)} AND "version" = ${input.expectedVersion}
          RETURNING "version"`,
    );
    if (rows[0]) return;
    const current = await this.get(input);
    if (!current) throw new NotFoundError(`[ops/adapter-drizzle] flag ${where(input)} does not exist`);
    throw new ConflictError(
      `[ops/adapter-drizzle] flag ${where(input)} is at version ${current.version}, expected ${input.expectedVersion}`,
    );
  }

  async list(input: { env: string; tenantId: TenantKey } & PageRequest): Promise<Page<FlagRecord>> {
    const limit = pageLimit(input.limit, "adapter-drizzle");
    const after = input.cursor ? decodeCursor(input.cursor, 1, "adapter-drizzle")[0] : null;
    const rows = await this.q(
      `flags.list ${input.env}/${input.tenantId ?? "(global)"}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.flags}
          WHERE "env" = ${input.env} AND ${tenantIs(input.tenantId)} ${after === null ? sql`` : sql`AND "key" > ${String(after)}`}
          ORDER BY "key" LIMIT ${limit + 1}`,
    );
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.key]) : null };
  }

  async snapshot(input: { env: string }): Promise<FlagRecord[]> {
    const rows = await this.q(`flags.snapshot ${input.env}`, sql`SELECT ${COLUMNS} FROM ${this.t.flags} WHERE "env" = ${input.env}`);
    return rows.map(toRecord);
  }
}
