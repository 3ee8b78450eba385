import type { AuthEventRecord, FlagRecord, IncidentRecord, JsonValue, OutboxMessage, TenantKey } from "@ops/core";
import type { AuthEventRawBackdoor, CounterRawBackdoor, FlagRawBackdoor, IncidentRawBackdoor, OutboxRawBackdoor } from "@ops/testkit";
import { sql, type SQL } from "drizzle-orm";
import type { Harness } from "./harness.js";

/**
 * Conformance backdoors: plain SQL on the tables, never the stores' own read methods. Every row
 * comes back as one JSON document (`to_jsonb(row)`), so no driver type parsing is involved.
 */
async function rows(h: Harness, statement: SQL): Promise<Record<string, JsonValue>[]> {
  const result = (await h.db.execute(statement)) as unknown;
  const list = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { doc: unknown }[];
  return list.map((r) => (typeof r.doc === "string" ? JSON.parse(r.doc) : r.doc) as Record<string, JsonValue>);
}

const table = (h: Harness, name: string): SQL => sql.raw(h.schema ? `"${h.schema}"."${name}"` : `"${name}"`);
const tenantIs = (tenantId: TenantKey): SQL => (tenantId === null ? sql`"tenant_id" IS NULL` : sql`"tenant_id" = ${tenantId}`);
/** jsonb renders timestamptz as "2026-01-01T00:00:00.123+00:00": back to toISOString form. */
const iso = (v: JsonValue | undefined): string => new Date(String(v)).toISOString();
const isoOrNull = (v: JsonValue | undefined): string | null => (v === null || v === undefined ? null : iso(v));
const strOrNull = (v: JsonValue | undefined): string | null => (v === null || v === undefined ? null : String(v));

export function flagRaw(h: Harness): FlagRawBackdoor {
  return {
    read: async (at) => {
      const [r] = await rows(
        h,
        sql`SELECT to_jsonb(f)::text AS doc FROM ${table(h, "ops_flags")} f WHERE "env" = ${at.env} AND "key" = ${at.key} AND ${tenantIs(at.tenantId)}`,
      );
      return r
        ? ({ config: r.config as JsonValue, version: Number(r.version), updatedBy: String(r.updated_by) } satisfies Partial<FlagRecord>)
        : null;
    },
  };
}

export function incidentRaw(h: Harness): IncidentRawBackdoor {
  return {
    readIncident: async (id) => {
      const [r] = await rows(h, sql`SELECT to_jsonb(i)::text AS doc FROM ${table(h, "ops_incidents")} i WHERE "id" = ${id}`);
      if (!r) return null;
      const rec: IncidentRecord = {
        id: String(r.id),
        tenantId: strOrNull(r.tenant_id),
        fingerprint: String(r.fingerprint),
        type: String(r.type),
        severity: r.severity as IncidentRecord["severity"],
        state: r.state as IncidentRecord["state"],
        title: String(r.title),
        openedAt: iso(r.opened_at),
        updatedAt: iso(r.updated_at),
        data: r.data as IncidentRecord["data"],
        version: Number(r.version),
      };
      if (r.resolved_at !== null) rec.resolvedAt = iso(r.resolved_at);
      return rec;
    },
  };
}

export function authEventRaw(h: Harness): AuthEventRawBackdoor {
  return {
    readEvent: async (id) => {
      const [r] = await rows(h, sql`SELECT to_jsonb(e)::text AS doc FROM ${table(h, "ops_auth_events")} e WHERE "id" = ${id}`);
      if (!r) return null;
      const e: AuthEventRecord = {
        id: String(r.id),
        type: String(r.type),
        occurredAt: iso(r.occurred_at),
        tenantId: strOrNull(r.tenant_id),
      };
      if (r.user_id !== null) e.userId = String(r.user_id);
      if (r.ip !== null) e.ip = String(r.ip);
      if (r.provider !== null) e.provider = String(r.provider);
      if (r.meta !== null) e.meta = r.meta as AuthEventRecord["meta"] & object;
      return e;
    },
    countId: async (id) =>
      (
        await rows(h, sql`SELECT jsonb_build_object('n', count(*))::text AS doc FROM ${table(h, "ops_auth_events")} WHERE "id" = ${id}`)
      ).map((r) => Number(r.n))[0] ?? 0,
  };
}

export function counterRaw(h: Harness): CounterRawBackdoor {
  return {
    readBucket: async (b) => {
      const [r] = await rows(
        h,
        sql`SELECT jsonb_build_object('count', "count")::text AS doc FROM ${table(h, "ops_counters")}
            WHERE ${tenantIs(b.tenantId)} AND "key" = ${b.key} AND "bucket_ms" = ${b.bucketMs} AND "start_ms" = ${b.startMs}`,
      );
      return r ? Number(r.count) : null;
    },
  };
}

export function outboxRaw(h: Harness): OutboxRawBackdoor {
  return {
    read: async (id) => {
      const [r] = await rows(h, sql`SELECT to_jsonb(o)::text AS doc FROM ${table(h, "ops_outbox")} o WHERE "id" = ${id}`);
      if (!r) return null;
      return {
        id: String(r.id),
        tenantId: strOrNull(r.tenant_id),
        channel: String(r.channel),
        payload: r.payload as OutboxMessage["payload"],
        idempotencyKey: String(r.idempotency_key),
        status: r.status as OutboxMessage["status"],
        attempts: Number(r.attempts),
        createdAt: iso(r.created_at),
        nextAttemptAt: iso(r.next_attempt_at),
        leaseOwner: strOrNull(r.lease_owner),
        leaseUntil: isoOrNull(r.lease_until),
        lastError: strOrNull(r.last_error),
        deliveredAt: isoOrNull(r.delivered_at),
        finishedAt: isoOrNull(r.finished_at),
        version: Number(r.version),
      };
    },
    countByIdempotencyKey: async (key) =>
      (
        await rows(
          h,
          sql`SELECT jsonb_build_object('n', count(*))::text AS doc FROM ${table(h, "ops_outbox")} WHERE "idempotency_key" = ${key}`,
        )
      ).map((r) => Number(r.n))[0] ?? 0,
  };
}
