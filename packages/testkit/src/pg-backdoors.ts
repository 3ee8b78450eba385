import type { AuditRecord, AuthEventRecord, FlagRecord, IncidentRecord, JsonValue, OutboxMessage, TenantKey } from "@ops/core";
import type { AuditRawBackdoor } from "./audit.js";
import type { AuthEventRawBackdoor } from "./auth-events.js";
import type { CounterRawBackdoor } from "./counters.js";
import type { FlagRawBackdoor } from "./flags.js";
import type { IncidentRawBackdoor } from "./incidents.js";
import type { OutboxRawBackdoor } from "./outbox.js";

/**
 * A raw connection to the PostgreSQL database under test (superuser or table owner): any
 * `PgExecutor` of @ops/adapter-postgres fits. Never the store under test.
 */
export interface PgRawConnection {
  query(text: string, params: readonly unknown[]): Promise<Array<Record<string, unknown>>>;
  transaction<T>(fn: (tx: PgRawConnection) => Promise<T>): Promise<T>;
}

type Doc = Record<string, JsonValue>;

/** jsonb renders timestamptz as "2026-01-01T00:00:00.123+00:00": back to toISOString form. */
const iso = (v: JsonValue | undefined): string => new Date(String(v)).toISOString();
const isoOrNull = (v: JsonValue | undefined): string | null => (v === null || v === undefined ? null : iso(v));
const strOrNull = (v: JsonValue | undefined): string | null => (v === null || v === undefined ? null : String(v));
const tenantIs = (tenantId: TenantKey, n: number): string =>
  tenantId === null ? `"tenant_id" IS NULL AND $${n}::text IS NULL` : `"tenant_id" = $${n}::text`;

/**
 * The conformance backdoors of every PostgreSQL adapter (Drizzle, Prisma, the executors of
 * @ops/adapter-postgres): plain SQL on the @ops tables, never the stores' own reads. Every row
 * comes back as one JSON document (`to_jsonb(row)`), so no driver type parsing is involved.
 */
export function pgBackdoors(conn: PgRawConnection, schema?: string) {
  const table = (name: string) => (schema ? `"${schema}"."${name}"` : `"${name}"`);
  const docs = async (text: string, params: readonly unknown[], on: PgRawConnection = conn): Promise<Doc[]> =>
    (await on.query(text, params)).map((r) => (typeof r.doc === "string" ? JSON.parse(r.doc) : r.doc) as Doc);
  const count = async (text: string, params: readonly unknown[]): Promise<number> =>
    Number((await conn.query(`SELECT count(*)::int AS n FROM ${text}`, params))[0]?.n ?? 0);

  const flag: FlagRawBackdoor = {
    read: async (at) => {
      const [r] = await docs(
        `SELECT to_jsonb(f)::text AS doc FROM ${table("ops_flags")} f WHERE "env" = $1 AND "key" = $2 AND ${tenantIs(at.tenantId, 3)}`,
        [at.env, at.key, at.tenantId],
      );
      return r
        ? ({ config: r.config as JsonValue, version: Number(r.version), updatedBy: String(r.updated_by) } satisfies Partial<FlagRecord>)
        : null;
    },
  };

  const incident: IncidentRawBackdoor = {
    readIncident: async (id) => {
      const [r] = await docs(`SELECT to_jsonb(i)::text AS doc FROM ${table("ops_incidents")} i WHERE "id" = $1`, [id]);
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

  const authEvent: AuthEventRawBackdoor = {
    readEvent: async (id) => {
      const [r] = await docs(`SELECT to_jsonb(e)::text AS doc FROM ${table("ops_auth_events")} e WHERE "id" = $1`, [id]);
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
    countId: (id) => count(`${table("ops_auth_events")} WHERE "id" = $1`, [id]),
  };

  const counter: CounterRawBackdoor = {
    readBucket: async (b) => {
      const rows = await conn.query(
        `SELECT "count"::text AS n FROM ${table("ops_counters")}
         WHERE ${tenantIs(b.tenantId, 1)} AND "key" = $2 AND "bucket_ms" = $3::bigint AND "start_ms" = $4::bigint`,
        [b.tenantId, b.key, b.bucketMs, b.startMs],
      );
      return rows[0] ? Number(rows[0].n) : null;
    },
  };

  const outbox: OutboxRawBackdoor = {
    read: async (id) => {
      const [r] = await docs(`SELECT to_jsonb(o)::text AS doc FROM ${table("ops_outbox")} o WHERE "id" = $1`, [id]);
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
    countByIdempotencyKey: (key) => count(`${table("ops_outbox")} WHERE "idempotency_key" = $1`, [key]),
  };

  return { flag, incident, authEvent, counter, outbox, audit: pgAuditBackdoor(conn, schema) };
}

function auditFromDoc(d: Doc): AuditRecord {
  const s = (v: JsonValue | undefined) => (v === null || v === undefined ? undefined : String(v));
  const rec: AuditRecord = {
    id: String(d.id),
    tenantId: d.tenant_id === null ? null : String(d.tenant_id),
    seq: Number(d.seq),
    prevHash: String(d.prev_hash),
    hash: String(d.hash),
    ts: new Date(String(d.ts)).toISOString(),
    env: String(d.env),
    action: String(d.action),
    actor: { id: String(d.actor_id), type: d.actor_type as AuditRecord["actor"]["type"] },
    outcome: d.outcome as AuditRecord["outcome"],
    meta: d.meta as AuditRecord["meta"],
  };
  if (s(d.actor_ip) !== undefined) rec.actor.ip = s(d.actor_ip)!;
  if (s(d.actor_user_agent) !== undefined) rec.actor.userAgent = s(d.actor_user_agent)!;
  if (s(d.subject_id) !== undefined) rec.subject = { id: s(d.subject_id)!, ...(s(d.subject_type) ? { type: s(d.subject_type)! } : {}) };
  if (s(d.target_id) !== undefined)
    rec.target = {
      id: s(d.target_id)!,
      ...(s(d.target_type) ? { type: s(d.target_type)! } : {}),
      ...(s(d.target_name) ? { name: s(d.target_name)! } : {}),
    };
  for (const [k, col] of [
    ["reason", "reason"],
    ["surface", "surface"],
    ["requestId", "request_id"],
    ["correlationId", "correlation_id"],
  ] as const)
    if (s(d[col]) !== undefined) rec[k] = s(d[col])!;
  if (d.sealed !== null && d.sealed !== undefined) rec.sealed = d.sealed as unknown as AuditRecord["sealed"];
  return rec;
}

/**
 * The AuditStore backdoor: what someone with full database access can do to `ops_audit_entries`.
 * Writes switch the append-only trigger off inside their transaction (`ALTER TABLE ... DISABLE
 * TRIGGER`, which the table owner may do; no superuser needed), which is exactly how an attacker
 * with the owner's access gets past append-only.
 */
export function pgAuditBackdoor(conn: PgRawConnection, schema?: string): AuditRawBackdoor {
  const table = schema ? `"${schema}"."ops_audit_entries"` : `"ops_audit_entries"`;
  const docs = async (on: PgRawConnection, where: string, params: unknown[]): Promise<Doc[]> =>
    (await on.query(`SELECT to_jsonb(a)::text AS doc FROM ${table} a WHERE ${where} ORDER BY "seq"`, params)).map(
      (r) => (typeof r.doc === "string" ? JSON.parse(r.doc) : r.doc) as Doc,
    );
  const insert = (on: PgRawConnection, r: AuditRecord) =>
    on.query(
      `INSERT INTO ${table} ("id", "tenant_id", "seq", "prev_hash", "hash", "ts", "env", "action", "actor_id", "actor_type", "actor_ip",
        "actor_user_agent", "subject_id", "subject_type", "target_id", "target_type", "target_name", "outcome", "reason", "surface",
        "request_id", "correlation_id", "meta", "sealed")
       VALUES ($1, $2, $3::bigint, $4, $5, $6::timestamptz, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23::jsonb, $24::jsonb)`,
      [
        r.id,
        r.tenantId,
        r.seq,
        r.prevHash,
        r.hash,
        r.ts,
        r.env,
        r.action,
        r.actor.id,
        r.actor.type,
        r.actor.ip ?? null,
        r.actor.userAgent ?? null,
        r.subject?.id ?? null,
        r.subject?.type ?? null,
        r.target?.id ?? null,
        r.target?.type ?? null,
        r.target?.name ?? null,
        r.outcome,
        r.reason ?? null,
        r.surface ?? null,
        r.requestId ?? null,
        r.correlationId ?? null,
        JSON.stringify(r.meta ?? {}),
        r.sealed == null ? null : JSON.stringify(r.sealed),
      ],
    );
  const where = (t: TenantKey, n = 1) => tenantIs(t, n);
  // The table owner (what the migrations ran as; no superuser needed) switches the append-only
  // trigger off inside the transaction and back on before it commits.
  const trigger = `"ops_audit_entries_no_update_delete"`;
  const tampering = <T>(fn: (tx: PgRawConnection) => Promise<T>): Promise<T> =>
    conn.transaction(async (tx) => {
      await tx.query(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`, []);
      const out = await fn(tx);
      await tx.query(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`, []);
      return out;
    });
  return {
    rows: async (tenantId) => (await docs(conn, where(tenantId), [tenantId])).map(auditFromDoc),
    update: (tenantId, seq, patch) =>
      tampering(async (tx) => {
        const [d] = await docs(tx, `${where(tenantId)} AND "seq" = $2::bigint`, [tenantId, seq]);
        if (!d) throw new Error(`no row at seq ${seq}`);
        const old = auditFromDoc(d);
        await tx.query(`DELETE FROM ${table} WHERE "id" = $1`, [old.id]);
        await insert(tx, { ...old, ...patch });
      }),
    delete: (tenantId, seq) =>
      tampering(
        async (tx) => void (await tx.query(`DELETE FROM ${table} WHERE ${where(tenantId)} AND "seq" = $2::bigint`, [tenantId, seq])),
      ),
    insert: async (record) => void (await insert(conn, record)),
    swap: (tenantId, a, b) =>
      tampering(async (tx) => {
        // (tenant_id, seq) is unique: park one row on a free position first.
        const move = (from: number, to: number) =>
          tx.query(`UPDATE ${table} SET "seq" = $3::bigint WHERE ${where(tenantId)} AND "seq" = $2::bigint`, [tenantId, from, to]);
        await move(a, -a);
        await move(b, a);
        await move(-a, b);
      }),
  };
}
