import type pg from "pg";
import type { AuditRecord, TenantKey } from "@ops/core";
import type { AuditRawBackdoor } from "@ops/testkit";
import { auditRecordFromRow, type AuditRow } from "../../src/stores/audit-store.js";

const COLUMNS = `id, tenant_id, seq, prev_hash, hash, ts, env, action, actor_id, actor_type, actor_ip, actor_user_agent,
  subject_id, subject_type, target_id, target_type, target_name, outcome, reason, surface, request_id,
  correlation_id, meta::text AS meta, sealed::text AS sealed`;

function values(r: AuditRecord): unknown[] {
  return [
    r.id, r.tenantId, r.seq, r.prevHash, r.hash, r.ts, r.env, r.action, r.actor.id, r.actor.type, r.actor.ip ?? null,
    r.actor.userAgent ?? null, r.subject?.id ?? null, r.subject?.type ?? null, r.target?.id ?? null, r.target?.type ?? null,
    r.target?.name ?? null, r.outcome, r.reason ?? null, r.surface ?? null, r.requestId ?? null, r.correlationId ?? null,
    JSON.stringify(r.meta ?? {}), r.sealed ? JSON.stringify(r.sealed) : null,
  ];
}
const NAMES = `id, tenant_id, seq, prev_hash, hash, ts, env, action, actor_id, actor_type, actor_ip, actor_user_agent,
  subject_id, subject_type, target_id, target_type, target_name, outcome, reason, surface, request_id, correlation_id, meta, sealed`;
const PLACEHOLDERS = Array.from({ length: 24 }, (_, i) => `$${i + 1}${i === 22 || i === 23 ? "::jsonb" : ""}`).join(", ");

/**
 * What someone with superuser access to the database can do to the audit table: the append-only
 * trigger does not fire under `session_replication_role = replica`. Used by the suite's tamper
 * cases, which then expect verify to catch every change.
 */
export function auditBackdoor(pool: pg.Pool): AuditRawBackdoor {
  const asSuperuser = async (fn: (c: pg.PoolClient) => Promise<void>) => {
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      await c.query("SET LOCAL session_replication_role = replica");
      await fn(c);
      await c.query("COMMIT");
    } catch (err) {
      await c.query("ROLLBACK");
      throw err;
    } finally {
      c.release();
    }
  };
  const tenant = (t: TenantKey) => (t === null ? "tenant_id IS NULL AND $1::text IS NULL" : "tenant_id = $1");
  const read = async (c: pg.PoolClient | pg.Pool, t: TenantKey, seq: number) => {
    const { rows } = await c.query<AuditRow>(`SELECT ${COLUMNS} FROM ops_audit_entries WHERE ${tenant(t)} AND seq = $2`, [t, seq]);
    if (!rows[0]) throw new Error(`no audit row at seq ${seq}`);
    return auditRecordFromRow(rows[0]);
  };
  return {
    async rows(t) {
      const { rows } = await pool.query<AuditRow>(`SELECT ${COLUMNS} FROM ops_audit_entries WHERE ${tenant(t)} ORDER BY seq`, [t]);
      return rows.map(auditRecordFromRow);
    },
    async update(t, seq, patch) {
      await asSuperuser(async (c) => {
        const next = { ...(await read(c, t, seq)), ...patch };
        await c.query(`DELETE FROM ops_audit_entries WHERE ${tenant(t)} AND seq = $2`, [t, seq]);
        await c.query(`INSERT INTO ops_audit_entries (${NAMES}) VALUES (${PLACEHOLDERS})`, values(next));
      });
    },
    async delete(t, seq) {
      await asSuperuser(async (c) => {
        await c.query(`DELETE FROM ops_audit_entries WHERE ${tenant(t)} AND seq = $2`, [t, seq]);
      });
    },
    async insert(record) {
      await asSuperuser(async (c) => {
        await c.query(`INSERT INTO ops_audit_entries (${NAMES}) VALUES (${PLACEHOLDERS})`, values(record));
      });
    },
    async swap(t, a, b) {
      await asSuperuser(async (c) => {
        await c.query(`UPDATE ops_audit_entries SET seq = -1 WHERE ${tenant(t)} AND seq = $2`, [t, a]);
        await c.query(`UPDATE ops_audit_entries SET seq = $3 WHERE ${tenant(t)} AND seq = $2`, [t, b, a]);
        await c.query(`UPDATE ops_audit_entries SET seq = $2 WHERE ${tenant(t)} AND seq = -1`, [t, b]);
      });
    },
  };
}
