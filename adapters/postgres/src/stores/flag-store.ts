import {
  ConflictError,
  NotFoundError,
  UnavailableError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  systemClock,
  type Clock,
  type FlagChange,
  type FlagRecord,
  type FlagStore,
  type JsonValue,
  type Page,
  type PageRequest,
  type PendingEffect,
  type StoreCapabilities,
  type TenantKey,
} from "@ops/core";
import { sql, type Sql } from "../sql.js";
import { POSTGRES_CAPABILITIES, PgStoreBase, type PgStoreContext } from "../base.js";
import { flagChannel } from "../notifications.js";
import { effectInserts } from "./effect-store.js";
import type { Row } from "../executor.js";
import { isoOut, jsonIn, jsonOut, num, parseJson, str, strOrNull, tenantIs, tsIn } from "../values.js";

const COLUMNS = sql.join([sql.raw(`"env", "key", "tenant_id", "version", "updated_by"`), jsonOut("config"), isoOut("updated_at")], sql`, `);

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

type Listener = (change: FlagChange) => void;

/**
 * `, pg_notify(channel, change)` over the CTE `w` of a write: delivered when the write commits. Cast
 * to text: some clients (Prisma) cannot read a `void` column.
 */
function notifyFrom(channel: string, version: Sql): Sql {
  return sql`pg_notify(${channel}, json_build_object('env', w."env", 'key', w."key", 'tenantId', w."tenant_id", 'version', ${version})::text)::text AS "notified"`;
}

/**
 * `FlagStore` on PostgreSQL: every write is one guarded statement (INSERT ... ON CONFLICT DO
 * NOTHING for creates, UPDATE/DELETE ... WHERE version = expected), so exactly one of many
 * concurrent writers wins. Every write also NOTIFYs its change in the same statement (delivered
 * at commit, in commit order); with a `listener` the store LISTENs and offers `subscribe`
 * (`capabilities.pubsub`), so changes from every process reach every subscriber.
 */
export class PgFlagStore extends PgStoreBase implements FlagStore {
  override readonly capabilities: StoreCapabilities;
  /** Present when the store was given a `listener` (`capabilities.pubsub`). */
  readonly subscribe?: (listener: Listener) => () => void;
  private readonly clock: Clock;
  private readonly channel: string;
  private readonly listeners = new Set<Listener>();
  private readonly listening: Promise<(() => Promise<void>) | null> | null = null;

  constructor(ctx: PgStoreContext) {
    super(ctx);
    this.clock = ctx.clock ?? systemClock;
    this.channel = flagChannel(ctx.schema);
    this.capabilities = Object.freeze({ ...POSTGRES_CAPABILITIES, ...ctx.capabilities, pubsub: ctx.listener !== undefined });
    if (ctx.listener) {
      this.listening = ctx.listener.listen(this.channel, (payload) => this.dispatch(payload)).catch(() => null);
      this.subscribe = (listener) => {
        this.assertOpen("flags.subscribe");
        // Wrapped so one function subscribed twice holds two independent subscriptions.
        const entry: Listener = (c) => listener(c);
        this.listeners.add(entry);
        return () => void this.listeners.delete(entry);
      };
    }
  }

  override async close(): Promise<void> {
    this.listeners.clear();
    const stop = await this.listening;
    await stop?.();
    await super.close();
  }

  private dispatch(payload: string): void {
    let change: FlagChange;
    try {
      const p = JSON.parse(payload) as { env: string; key: string; tenantId: string | null; version: number };
      change = { env: p.env, key: p.key, tenantId: p.tenantId ?? null, version: Number(p.version) };
    } catch {
      return;
    }
    for (const l of [...this.listeners]) {
      try {
        l({ ...change });
      } catch {
        // A throwing listener must not stop delivery to the others.
      }
    }
  }

  /** Our own writes must be heard: do not write before LISTEN is active. */
  private async ready(what: string): Promise<void> {
    if (this.listening && (await this.listening) === null)
      throw new UnavailableError(`[ops/${this.pkg}] ${what}: could not LISTEN for flag changes`);
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
    effects?: readonly PendingEffect[];
  }): Promise<FlagRecord> {
    const what = `flags.put ${where(input)}`;
    const effects = effectInserts(this.t, this.pkg, input.effects);
    const now = this.clock.date().toISOString();
    if (input.expectedVersion === null) {
      await this.ready(what);
      const rows = await this.q(
        what,
        sql`WITH w AS (
              INSERT INTO ${this.t.flags} ("env", "key", "tenant_id", "config", "version", "updated_at", "updated_by")
              VALUES (${input.env}, ${input.key}, ${input.tenantId}, ${jsonIn(input.config)}, 1, ${tsIn(now)}, ${input.actor})
              ON CONFLICT ON CONSTRAINT ops_flags_env_tenant_key_key DO NOTHING
              RETURNING ${COLUMNS}
            )${effects} SELECT w.*, ${notifyFrom(this.channel, sql`w."version"`)} FROM w`,
      );
      if (rows[0]) return toRecord(rows[0]);
      throw new ConflictError(`[ops/${this.pkg}] flag ${where(input)} already exists`);
    }
    await this.ready(what);
    const rows = await this.q(
      what,
      sql`WITH w AS (
            UPDATE ${this.t.flags}
            SET "config" = ${jsonIn(input.config)}, "version" = "version" + 1, "updated_at" = ${tsIn(now)}, "updated_by" = ${input.actor}
            WHERE "env" = ${input.env} AND "key" = ${input.key} AND ${tenantIs(input.tenantId)} AND "version" = ${input.expectedVersion}
            RETURNING ${COLUMNS}
          )${effects} SELECT w.*, ${notifyFrom(this.channel, sql`w."version"`)} FROM w`,
    );
    if (rows[0]) return toRecord(rows[0]);
    const current = await this.get(input);
    throw new ConflictError(
      `[ops/${this.pkg}] flag ${where(input)} is at version ${current?.version ?? "(absent)"}, expected ${input.expectedVersion}`,
    );
  }

  async delete(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    expectedVersion: number;
    effects?: readonly PendingEffect[];
  }): Promise<void> {
    const what = `flags.delete ${where(input)}`;
    const effects = effectInserts(this.t, this.pkg, input.effects);
    await this.ready(what);
    const rows = await this.q(
      what,
      sql`WITH w AS (
            DELETE FROM ${this.t.flags}
            WHERE "env" = ${input.env} AND "key" = ${input.key} AND ${tenantIs(input.tenantId)} AND "version" = ${input.expectedVersion}
            RETURNING "env", "key", "tenant_id"
          )${effects} SELECT ${notifyFrom(this.channel, sql`0`)} FROM w`,
    );
    if (rows[0]) return;
    const current = await this.get(input);
    if (!current) throw new NotFoundError(`[ops/${this.pkg}] flag ${where(input)} does not exist`);
    throw new ConflictError(`[ops/${this.pkg}] flag ${where(input)} is at version ${current.version}, expected ${input.expectedVersion}`);
  }

  async list(input: { env: string; tenantId: TenantKey } & PageRequest): Promise<Page<FlagRecord>> {
    const limit = pageLimit(input.limit, this.pkg);
    const after = input.cursor ? decodeCursor(input.cursor, 1, this.pkg)[0] : null;
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
