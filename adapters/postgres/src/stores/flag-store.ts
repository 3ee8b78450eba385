import {
  ConflictError,
  NotFoundError,
  UnavailableError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  snapshotPageLimit,
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
import { flagChannel, type PgListener } from "../notifications.js";
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

/** One record's identity in `known`: env, tenant (`""` global, `"t" + id` a tenant) and key. */
const changeId = (c: { env: string; key: string; tenantId: TenantKey }) =>
  `${c.env}\u0000${c.tenantId === null ? "" : `t${c.tenantId}`}\u0000${c.key}`;

/**
 * `, pg_notify(channel, change)` over the CTE `w` of a write: delivered when the write commits. Cast
 * to text: some clients (Prisma) cannot read a `void` column.
 */
function notifyFrom(channel: string, version: Sql): Sql {
  return sql`pg_notify(${channel}, json_build_object('env', w."env", 'key', w."key", 'tenantId', w."tenant_id", 'version', ${version})::text)::text AS "notified"`;
}

/** How flag changes currently reach this store's subscribers (see `PgFlagStore.propagation`). */
export type FlagPropagation = "none" | "starting" | "listen" | "polling";

/** Listeners already warned about (one warning per listener, not per store). */
const warned = new WeakSet<object>();

/**
 * `FlagStore` on PostgreSQL: every write is one guarded statement (INSERT ... ON CONFLICT DO
 * NOTHING for creates, UPDATE/DELETE ... WHERE version = expected), so exactly one of many
 * concurrent writers wins. Every write also NOTIFYs its change in the same statement (delivered
 * at commit, in commit order); with a `listener` the store LISTENs and offers `subscribe`
 * (`capabilities.pubsub`), so changes from every process reach every subscriber.
 *
 * LISTEN is checked, not trusted: at start and every `probeIntervalMs` the store NOTIFYs itself
 * through its executor. When it hears nothing (LISTEN through a transaction pooler hears nothing),
 * or while the LISTEN connection is down, it warns once and polls the flag versions every
 * `pollIntervalMs` (1 s), telling subscribers what changed; after a reconnect it re-reads
 * everything, so a change made during the gap is not lost.
 */
export class PgFlagStore extends PgStoreBase implements FlagStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "flags" as const;
  override readonly capabilities: StoreCapabilities;
  /** Present when the store was given a `listener` (`capabilities.pubsub`). */
  readonly subscribe?: (listener: Listener) => () => void;
  private readonly clock: Clock;
  private readonly channel: string;
  private readonly listeners = new Set<Listener>();
  private readonly listening: Promise<(() => Promise<void>) | null> | null = null;
  /** Versions of every record as last seen, to tell what a gap or a poll missed (deletions included). */
  private readonly known = new Map<string, number>();
  private mode: FlagPropagation = "none";
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  private readonly probes = new Map<string, () => void>();
  private resyncing: Promise<void> | null = null;
  private down = false;
  private readonly pollMs: number;
  private readonly probeTimeoutMs: number;
  private readonly probeEveryMs: number;

  constructor(ctx: PgStoreContext) {
    super(ctx);
    this.clock = ctx.clock ?? systemClock;
    this.channel = flagChannel(ctx.schema);
    this.capabilities = Object.freeze({ ...POSTGRES_CAPABILITIES, ...ctx.capabilities, pubsub: ctx.listener !== undefined });
    this.pollMs = ctx.propagation?.pollIntervalMs ?? 1000;
    this.probeTimeoutMs = ctx.propagation?.probeTimeoutMs ?? 2000;
    this.probeEveryMs = ctx.propagation?.probeIntervalMs ?? 30_000;
    if (ctx.listener) {
      this.mode = "starting";
      this.listening = this.startListening(ctx.listener);
      this.subscribe = (listener) => {
        this.assertOpen("flags.subscribe");
        // Wrapped so one function subscribed twice holds two independent subscriptions.
        const entry: Listener = (c) => listener(c);
        this.listeners.add(entry);
        return () => void this.listeners.delete(entry);
      };
    }
  }

  /**
   * How changes reach subscribers now: `listen` (NOTIFY, heard by the self-probe), `polling` (LISTEN
   * hears nothing or is down: versions re-read every `pollIntervalMs`), `starting` (probe pending),
   * `none` (no listener).
   */
  get propagation(): FlagPropagation {
    return this.mode;
  }

  private async startListening(listener: PgListener): Promise<(() => Promise<void>) | null> {
    let stop: () => Promise<void>;
    try {
      stop = await listener.listen(this.channel, (payload) => this.dispatch(payload), {
        onDown: () => {
          this.down = true;
          this.fallBack();
        },
        onReconnect: () => {
          this.down = false;
          // Whatever was NOTIFYed during the gap is lost: re-read it now, then check LISTEN again.
          void this.resync(false).then(() => this.probe());
        },
      });
    } catch {
      this.mode = "polling";
      return null;
    }
    // A silent baseline before the first write, so later polls and resyncs can tell what changed.
    await this.resync(true);
    void this.probe();
    this.probeTimer = setInterval(() => void this.probe(), this.probeEveryMs);
    this.probeTimer.unref?.();
    return stop;
  }

  /** NOTIFYs itself through the executor; LISTEN works when it hears that within `probeTimeoutMs`. */
  private async probe(): Promise<void> {
    if (this.isClosed || this.down) return;
    const token = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const heard = new Promise<boolean>((resolve) => {
      this.probes.set(token, () => resolve(true));
      timer = setTimeout(() => resolve(false), this.probeTimeoutMs);
      timer.unref?.();
    });
    try {
      await this.q("flags.probe", sql`SELECT pg_notify(${this.channel}, ${JSON.stringify({ probe: token })})::text AS "notified"`);
    } catch {
      // The database is unreachable: nothing to conclude about LISTEN; the next probe tries again.
      this.probes.delete(token);
      clearTimeout(timer);
      return;
    }
    const ok = await heard;
    this.probes.delete(token);
    clearTimeout(timer);
    if (this.isClosed || this.down) return;
    if (ok) {
      this.mode = "listen";
      this.stopPolling();
    } else this.fallBack(true);
  }

  /** Polls until LISTEN is heard again. `unheard`: the probe went unanswered (a pooler), warn once. */
  private fallBack(unheard = false): void {
    if (this.isClosed) return;
    this.mode = "polling";
    if (unheard && this.ctx.listener && !warned.has(this.ctx.listener)) {
      warned.add(this.ctx.listener);
      const warn = this.ctx.onWarning ?? ((m: string) => console.warn(m));
      try {
        warn(
          `[ops/${this.pkg}] flag changes: LISTEN on "${this.channel}" did not hear this process's own NOTIFY within ${this.probeTimeoutMs} ms. ` +
            "Its connection probably goes through a transaction pooler (PgBouncer pool_mode=transaction, Supabase's or Neon's pooler, RDS Proxy), where LISTEN hears nothing. " +
            `Falling back to polling flag versions every ${this.pollMs} ms. For NOTIFY-speed propagation give the stores a direct (or session-mode) connection for LISTEN: the listenUrl option, or a listener over a client that connects directly.`,
        );
      } catch {
        // A throwing warning hook must not stop the fallback.
      }
    }
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.resync(false), this.pollMs);
    this.pollTimer.unref?.();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private get isClosed(): boolean {
    return this.closedFlag;
  }
  private closedFlag = false;

  /**
   * Re-reads every record's version and tells subscribers each one that differs from what was
   * seen (deleted: version 0). `silent` only records the baseline.
   */
  private resync(silent: boolean): Promise<void> {
    this.resyncing ??= (async () => {
      try {
        const rows = await this.q("flags.resync", sql`SELECT "env", "key", "tenant_id", "version" FROM ${this.t.flags}`);
        const present = new Set<string>();
        for (const r of rows) {
          const change = { env: str(r.env), key: str(r.key), tenantId: strOrNull(r.tenant_id), version: num(r.version) };
          const id = changeId(change);
          present.add(id);
          if (silent) this.known.set(id, Math.max(this.known.get(id) ?? 0, change.version));
          else if (this.known.get(id) !== change.version) this.emit(change);
        }
        for (const [id] of [...this.known]) {
          if (present.has(id)) continue;
          if (silent) this.known.delete(id);
          else {
            const [env, tenant, key] = id.split("\u0000") as [string, string, string];
            this.emit({ env, key, tenantId: tenant === "" ? null : tenant.slice(1), version: 0 });
          }
        }
      } catch {
        // The database is unreachable: the next poll (or reconnect) tries again.
      } finally {
        this.resyncing = null;
      }
    })();
    return this.resyncing;
  }

  override async close(): Promise<void> {
    this.closedFlag = true;
    this.stopPolling();
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    this.listeners.clear();
    const stop = await this.listening;
    await stop?.();
    await super.close();
  }

  private dispatch(payload: string): void {
    let change: FlagChange;
    try {
      const p = JSON.parse(payload) as { env: string; key: string; tenantId: string | null; version: number; probe?: string };
      if (typeof p.probe === "string") {
        this.probes.get(p.probe)?.();
        return;
      }
      change = { env: p.env, key: p.key, tenantId: p.tenantId ?? null, version: Number(p.version) };
    } catch {
      return;
    }
    this.emit(change);
  }

  private emit(change: FlagChange): void {
    const id = changeId(change);
    if (change.version === 0) this.known.delete(id);
    else this.known.set(id, Math.max(this.known.get(id) ?? 0, change.version));
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

  /**
   * Keyset pages over the `(env, tenant_id, key)` unique index: tenants' overrides in (tenant, key)
   * binary order, then the global records by key.
   */
  async snapshotPage(input: { env: string } & PageRequest): Promise<Page<FlagRecord>> {
    const limit = snapshotPageLimit(input.limit, this.pkg);
    const at = input.cursor ? decodeCursor(input.cursor, 2, this.pkg) : null;
    const what = `flags.snapshotPage ${input.env}`;
    const items: FlagRecord[] = [];
    let more = false;
    if (at === null || at[0] !== null) {
      const after = at === null ? sql`` : sql`AND ("env", "tenant_id", "key") > (${input.env}, ${String(at[0])}, ${String(at[1])})`;
      const rows = await this.q(
        what,
        sql`SELECT ${COLUMNS} FROM ${this.t.flags}
            WHERE "env" = ${input.env} AND "tenant_id" IS NOT NULL ${after}
            ORDER BY "env", "tenant_id", "key" LIMIT ${limit + 1}`,
      );
      for (const r of rows.slice(0, limit)) items.push(toRecord(r));
      // A full page may be followed by the global records: the next page looks.
      more = items.length === limit;
    }
    if (!more) {
      const afterKey = at !== null && at[0] === null ? String(at[1]) : null;
      const room = limit - items.length;
      const rows = await this.q(
        what,
        sql`SELECT ${COLUMNS} FROM ${this.t.flags}
            WHERE "env" = ${input.env} AND "tenant_id" IS NULL ${afterKey === null ? sql`` : sql`AND "key" > ${afterKey}`}
            ORDER BY "key" LIMIT ${room + 1}`,
      );
      for (const r of rows.slice(0, room)) items.push(toRecord(r));
      more = rows.length > room;
    }
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor([last.tenantId, last.key]) : null };
  }

  async snapshot(input: { env: string }): Promise<FlagRecord[]> {
    const rows = await this.q(`flags.snapshot ${input.env}`, sql`SELECT ${COLUMNS} FROM ${this.t.flags} WHERE "env" = ${input.env}`);
    return rows.map(toRecord);
  }
}
