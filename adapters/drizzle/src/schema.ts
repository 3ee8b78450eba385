import { sql } from "drizzle-orm";
import { bigint, bigserial, customType, index, integer, jsonb, pgSchema, pgTable, text, timestamp, unique } from "drizzle-orm/pg-core";

// This file is read by drizzle-kit as well as bundled: keep it free of relative imports.

/**
 * Text compared in binary (code unit) order. Keyset cursors compare keys in JavaScript, so the
 * database must order them the same way whatever the database's default collation is.
 */
/** Raw bytes, read back as a Uint8Array whatever the driver returns (Buffer, Uint8Array). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => new Uint8Array(value),
});

const ctext = customType<{ data: string; driverData: string }>({
  dataType: () => 'text COLLATE "C"',
});

/** Millisecond timestamps: the stores speak ISO strings with exactly three fraction digits. */
const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: "date" });

type TableFn = typeof pgTable;

/**
 * Builds every @ops table. `table` is `pgTable` (the search_path schema) or
 * `pgSchema(name).table`. NULL `tenant_id` is the global scope; unique keys that include the
 * tenant are NULLS NOT DISTINCT (PostgreSQL 15+) so the global scope is one scope too.
 */
function buildTables(table: TableFn) {
  const auditEntries = table(
    "ops_audit_entries",
    {
      id: ctext("id").primaryKey(),
      tenantId: ctext("tenant_id"),
      seq: bigint("seq", { mode: "number" }).notNull(),
      prevHash: text("prev_hash").notNull(),
      hash: text("hash").notNull(),
      ts: ts("ts").notNull(),
      env: text("env").notNull(),
      action: text("action").notNull(),
      actorId: text("actor_id").notNull(),
      actorType: text("actor_type").notNull(),
      actorIp: text("actor_ip"),
      actorUserAgent: text("actor_user_agent"),
      subjectId: text("subject_id"),
      subjectType: text("subject_type"),
      targetId: text("target_id"),
      targetType: text("target_type"),
      targetName: text("target_name"),
      outcome: text("outcome").notNull(),
      reason: text("reason"),
      surface: text("surface"),
      requestId: text("request_id"),
      correlationId: text("correlation_id"),
      meta: jsonb("meta").notNull().default(sql`'{}'::jsonb`),
      /** SealedFields (crypto-shredded personal fields), NULL when nothing was sealed. */
      sealed: jsonb("sealed"),
    },
    (t) => [
      // The chain's integrity rule: one writer wins each position, the other retries.
      unique("ops_audit_entries_chain_seq_key").on(t.tenantId, t.seq).nullsNotDistinct(),
      index("ops_audit_entries_actor_idx").on(t.tenantId, t.actorId, t.seq),
      index("ops_audit_entries_subject_idx").on(t.tenantId, t.subjectId, t.seq),
      index("ops_audit_entries_target_idx").on(t.tenantId, t.targetId, t.seq),
      index("ops_audit_entries_action_idx").on(t.tenantId, t.action, t.seq),
      index("ops_audit_entries_correlation_idx").on(t.tenantId, t.correlationId, t.seq),
      // Time ranges (alone, with an action, with an actor): index-only scans of the range's seqs.
      index("ops_audit_entries_ts_seq_idx").on(t.tenantId, t.ts, t.seq),
      index("ops_audit_entries_action_ts_idx").on(t.tenantId, t.action, t.ts, t.seq),
      index("ops_audit_entries_actor_ts_idx").on(t.tenantId, t.actorId, t.ts, t.seq),
    ],
  );

  /**
   * Per-subject data keys for crypto-shredding, apart from the hashed audit rows: deleting a
   * subject's rows makes its sealed fields unreadable without touching the chain.
   */
  const auditSubjectKeys = table(
    "ops_audit_subject_keys",
    {
      keyId: ctext("key_id").primaryKey(),
      tenantId: ctext("tenant_id"),
      subjectId: ctext("subject_id").notNull(),
      /** 32 random bytes (AES-256). */
      key: bytea("key").notNull(),
      createdAt: ts("created_at").notNull(),
    },
    (t) => [
      // One live key per subject: concurrent getOrCreate calls store one candidate.
      unique("ops_audit_subject_keys_subject_key").on(t.tenantId, t.subjectId).nullsNotDistinct(),
    ],
  );

  const flags = table(
    "ops_flags",
    {
      rowId: bigserial("row_id", { mode: "number" }).primaryKey(),
      env: ctext("env").notNull(),
      key: ctext("key").notNull(),
      tenantId: ctext("tenant_id"),
      config: jsonb("config").notNull(),
      version: integer("version").notNull(),
      updatedAt: ts("updated_at").notNull(),
      updatedBy: text("updated_by").notNull(),
    },
    (t) => [
      // Serves get (all three), list (env, tenant, key order) and snapshot (env prefix).
      unique("ops_flags_env_tenant_key_key").on(t.env, t.tenantId, t.key).nullsNotDistinct(),
    ],
  );

  const incidents = table(
    "ops_incidents",
    {
      // Ids are unique across tenants (a stable id includes its scope), as in the memory store.
      id: ctext("id").primaryKey(),
      tenantId: ctext("tenant_id"),
      fingerprint: ctext("fingerprint").notNull(),
      type: ctext("type").notNull(),
      severity: text("severity").notNull(),
      state: text("state").notNull(),
      title: text("title").notNull(),
      openedAt: ts("opened_at").notNull(),
      updatedAt: ts("updated_at").notNull(),
      resolvedAt: ts("resolved_at"),
      data: jsonb("data").notNull().default(sql`'{}'::jsonb`),
      version: integer("version").notNull(),
    },
    (t) => [
      index("ops_incidents_list_idx").on(t.tenantId, t.openedAt.desc(), t.id.desc()),
      // scan() walks every tenant's incidents by id: the primary key serves it.
      // The partial UNIQUE index on active fingerprints is hand-written (0001): drizzle-kit cannot
      // emit NULLS NOT DISTINCT on an index.
    ],
  );

  /** Small versioned documents next to incidents (the triage model). */
  const incidentModels = table(
    "ops_incident_models",
    {
      rowId: bigserial("row_id", { mode: "number" }).primaryKey(),
      tenantId: ctext("tenant_id"),
      name: ctext("name").notNull(),
      model: jsonb("model").notNull(),
      version: integer("version").notNull(),
      updatedAt: ts("updated_at").notNull(),
    },
    (t) => [unique("ops_incident_models_tenant_name_key").on(t.tenantId, t.name).nullsNotDistinct()],
  );

  /** Auth signals, one row per event (the `AuthOpsLog` shape), with ip and meta. */
  const authEvents = table(
    "ops_auth_events",
    {
      rowId: bigserial("row_id", { mode: "number" }).primaryKey(),
      // Unique per tenant (with tenant_id), not across tenants: see the constraint below.
      id: ctext("id").notNull(),
      type: ctext("type").notNull(),
      occurredAt: ts("occurred_at").notNull(),
      tenantId: ctext("tenant_id"),
      userId: text("user_id"),
      ip: text("ip"),
      provider: text("provider"),
      meta: jsonb("meta"),
    },
    (t) => [
      unique("ops_auth_events_tenant_event_key").on(t.tenantId, t.id).nullsNotDistinct(),
      index("ops_auth_events_tenant_time_idx").on(t.tenantId, t.occurredAt.desc(), t.id.desc()),
      index("ops_auth_events_tenant_type_idx").on(t.tenantId, t.type, t.occurredAt.desc()),
      index("ops_auth_events_tenant_user_idx").on(t.tenantId, t.userId, t.occurredAt.desc()),
      index("ops_auth_events_tenant_ip_idx").on(t.tenantId, t.ip, t.occurredAt.desc()),
      // Retention deletes by age across tenants.
      index("ops_auth_events_occurred_at_idx").on(t.occurredAt),
    ],
  );

  const counters = table(
    "ops_counters",
    {
      rowId: bigserial("row_id", { mode: "number" }).primaryKey(),
      tenantId: ctext("tenant_id"),
      key: ctext("key").notNull(),
      bucketMs: bigint("bucket_ms", { mode: "number" }).notNull(),
      startMs: bigint("start_ms", { mode: "number" }).notNull(),
      count: bigint("count", { mode: "number" }).notNull(),
      expiresAt: ts("expires_at").notNull(),
    },
    (t) => [
      // Serves the upsert of increment and the window reads (range on start_ms).
      unique("ops_counters_bucket_key").on(t.tenantId, t.key, t.bucketMs, t.startMs).nullsNotDistinct(),
      index("ops_counters_expires_at_idx").on(t.expiresAt),
      // Set-based detection (readActive): every tenant's rows of a range in one aggregate.
      index("ops_counters_active_idx").on(t.bucketMs, t.key, t.startMs),
    ],
  );

  const outbox = table(
    "ops_outbox",
    {
      id: ctext("id").primaryKey(),
      tenantId: ctext("tenant_id"),
      channel: ctext("channel").notNull(),
      payload: jsonb("payload").notNull(),
      idempotencyKey: ctext("idempotency_key").notNull(),
      status: text("status").notNull(),
      attempts: integer("attempts").notNull().default(0),
      createdAt: ts("created_at").notNull(),
      nextAttemptAt: ts("next_attempt_at").notNull(),
      leaseOwner: text("lease_owner"),
      leaseUntil: ts("lease_until"),
      lastError: text("last_error"),
      deliveredAt: ts("delivered_at"),
      finishedAt: ts("finished_at"),
      version: integer("version").notNull().default(1),
    },
    (t) => [
      // Idempotency keys are per tenant: one tenant's key never collides with another's.
      unique("ops_outbox_tenant_idempotency_key").on(t.tenantId, t.idempotencyKey).nullsNotDistinct(),
      // The claim path: due pending messages, oldest first.
      index("ops_outbox_due_idx").on(t.nextAttemptAt, t.id).where(sql`${t.status} = 'pending'`),
      index("ops_outbox_status_idx").on(t.status, t.createdAt, t.id),
      index("ops_outbox_tenant_status_idx").on(t.tenantId, t.status, t.createdAt, t.id),
      index("ops_outbox_channel_status_idx").on(t.channel, t.status, t.createdAt, t.id),
      index("ops_outbox_created_idx").on(t.createdAt, t.id),
    ],
  );

  return { auditEntries, auditSubjectKeys, flags, incidents, incidentModels, authEvents, counters, outbox };
}

/** Every @ops table, as one object (what the stores query). */
export type OpsTables = ReturnType<typeof buildTables>;

/**
 * The tables in a PostgreSQL schema other than the search_path one (e.g. `"ops"`). Apply the
 * migrations with that schema first in `search_path`.
 */
export function createOpsTables(schemaName?: string): OpsTables {
  if (schemaName === undefined || schemaName === "public") return buildTables(pgTable);
  const schema = pgSchema(schemaName);
  return buildTables(schema.table.bind(schema) as unknown as TableFn);
}

const defaults = buildTables(pgTable);

/** Hash-chained, append-only audit entries (one chain per tenant; NULL tenant = global chain). */
export const opsAuditEntries = defaults.auditEntries;
/** Per-subject keys for crypto-shredding audit data. */
export const opsAuditSubjectKeys = defaults.auditSubjectKeys;
/** Flag definitions (NULL tenant) and tenant overrides, per environment, versioned. */
export const opsFlags = defaults.flags;
/** Incidents with their lifecycle state, versioned. */
export const opsIncidents = defaults.incidents;
/** Versioned documents next to incidents (the triage model). */
export const opsIncidentModels = defaults.incidentModels;
/** Auth signals, one row per event. */
export const opsAuthEvents = defaults.authEvents;
/** Windowed counter buckets. */
export const opsCounters = defaults.counters;
/** The notification outbox. */
export const opsOutbox = defaults.outbox;
