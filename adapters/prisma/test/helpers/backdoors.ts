import type {
  AuthEventRawBackdoor,
  CounterRawBackdoor,
  FlagRawBackdoor,
  IncidentRawBackdoor,
  OutboxRawBackdoor,
} from "@ops/testkit";
import { AUTH_EVENT_COLUMNS, toRecord as authEventFromRow, type AuthEventRow } from "../../src/stores/auth-event-store.js";
import { INCIDENT_COLUMNS, toRecord as incidentFromRow, type IncidentRow } from "../../src/stores/incident-store.js";
import { OUTBOX_COLUMNS, toMessage, type OutboxRow } from "../../src/stores/outbox-store.js";

/** A connection of our own (pg pool or PGlite), beside the Prisma client under test. */
export type Query = <R = Record<string, unknown>>(text: string, values?: unknown[]) => Promise<{ rows: R[] }>;

// The conformance suites' backdoors: plain SQL on the tables, never the store's own methods.

export function flagRaw(q: Query): FlagRawBackdoor {
  return {
    async read({ env, key, tenantId }) {
      const { rows } = await q<{ config: string; version: number; updated_by: string }>(
        `SELECT config::text AS config, version, updated_by FROM ops_flags WHERE env = $1 AND key = $2 AND tenant_id IS NOT DISTINCT FROM $3`,
        [env, key, tenantId],
      );
      const row = rows[0];
      return row ? { config: JSON.parse(row.config), version: Number(row.version), updatedBy: row.updated_by } : null;
    },
  };
}

export function incidentRaw(q: Query): IncidentRawBackdoor {
  return {
    async readIncident(id) {
      const { rows } = await q<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM ops_incidents WHERE id = $1`, [id]);
      return rows[0] ? incidentFromRow(rows[0]) : null;
    },
  };
}

export function outboxRaw(q: Query): OutboxRawBackdoor {
  return {
    async read(id) {
      const { rows } = await q<OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM ops_outbox WHERE id = $1`, [id]);
      return rows[0] ? toMessage(rows[0]) : null;
    },
    async countByIdempotencyKey(key) {
      const { rows } = await q<{ n: number }>(`SELECT count(*)::int AS n FROM ops_outbox WHERE idempotency_key = $1`, [key]);
      return Number(rows[0]?.n ?? 0);
    },
  };
}

export function authEventRaw(q: Query): AuthEventRawBackdoor {
  return {
    async readEvent(id) {
      const { rows } = await q<AuthEventRow>(`SELECT ${AUTH_EVENT_COLUMNS} FROM ops_auth_events WHERE id = $1`, [id]);
      return rows[0] ? authEventFromRow(rows[0]) : null;
    },
    async countId(id) {
      const { rows } = await q<{ n: number }>(`SELECT count(*)::int AS n FROM ops_auth_events WHERE id = $1`, [id]);
      return Number(rows[0]?.n ?? 0);
    },
  };
}

export function counterRaw(q: Query): CounterRawBackdoor {
  return {
    async readBucket({ tenantId, key, bucketMs, startMs }) {
      const { rows } = await q<{ n: string }>(
        `SELECT count::text AS n FROM ops_counters
         WHERE tenant_id IS NOT DISTINCT FROM $1 AND key = $2 AND bucket_ms = $3 AND start_ms = $4`,
        [tenantId, key, bucketMs, startMs],
      );
      return rows[0] ? Number(rows[0].n) : null;
    },
  };
}
