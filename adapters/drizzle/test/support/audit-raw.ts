import type { AuditRecord, JsonValue, TenantKey } from "@ops/core";
import type { AuditRawBackdoor } from "@ops/testkit";
import { sql, type SQL } from "drizzle-orm";
import type { DrizzleExecutor } from "../../src/index.js";
import type { Harness } from "./harness.js";

type Doc = Record<string, JsonValue>;

/**
 * The AuditStore backdoor: plain SQL on `ops_audit_entries`, as someone with full database access.
 * Writes switch the append-only trigger off inside their transaction (`ALTER TABLE ... DISABLE
 * TRIGGER`, the table owner's right; no superuser needed): how an attacker with that access gets past append-only.
 */
export function auditRaw(h: Harness): AuditRawBackdoor {
  const table = sql.raw(h.schema ? `"${h.schema}"."ops_audit_entries"` : `"ops_audit_entries"`);
  const tenantIs = (t: TenantKey): SQL => (t === null ? sql`"tenant_id" IS NULL` : sql`"tenant_id" = ${t}`);

  async function docs(on: DrizzleExecutor, where: SQL): Promise<Doc[]> {
    const result = (await on.execute(sql`SELECT to_jsonb(a)::text AS doc FROM ${table} a WHERE ${where} ORDER BY "seq"`)) as unknown;
    const list = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { doc: string }[];
    return list.map((r) => JSON.parse(r.doc) as Doc);
  }

  function toRecord(d: Doc): AuditRecord {
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

  function insertSql(r: AuditRecord): SQL {
    return sql`INSERT INTO ${table} ("id", "tenant_id", "seq", "prev_hash", "hash", "ts", "env", "action", "actor_id", "actor_type", "actor_ip",
        "actor_user_agent", "subject_id", "subject_type", "target_id", "target_type", "target_name", "outcome", "reason", "surface",
        "request_id", "correlation_id", "meta", "sealed")
      VALUES (${r.id}, ${r.tenantId}, ${r.seq}, ${r.prevHash}, ${r.hash}, ${r.ts}::timestamptz, ${r.env}, ${r.action}, ${r.actor.id},
        ${r.actor.type}, ${r.actor.ip ?? null}, ${r.actor.userAgent ?? null}, ${r.subject?.id ?? null}, ${r.subject?.type ?? null},
        ${r.target?.id ?? null}, ${r.target?.type ?? null}, ${r.target?.name ?? null}, ${r.outcome}, ${r.reason ?? null},
        ${r.surface ?? null}, ${r.requestId ?? null}, ${r.correlationId ?? null}, ${JSON.stringify(r.meta ?? {})}::jsonb,
        ${r.sealed == null ? null : JSON.stringify(r.sealed)}::jsonb)`;
  }

  function tampering<T>(fn: (tx: DrizzleExecutor) => Promise<T>): Promise<T> {
    // As the table owner (no superuser needed): the append-only trigger off inside the transaction.
    const trigger = sql.raw(`"ops_audit_entries_no_update_delete"`);
    return h.db.transaction(async (tx) => {
      await tx.execute(sql`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
      const out = await fn(tx);
      await tx.execute(sql`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
      return out;
    });
  }

  return {
    rows: async (tenantId) => (await docs(h.db, tenantIs(tenantId))).map(toRecord),
    update: (tenantId, seq, patch) =>
      tampering(async (tx) => {
        const [d] = await docs(tx, sql`${tenantIs(tenantId)} AND "seq" = ${seq}`);
        if (!d) throw new Error(`no row at seq ${seq}`);
        const old = toRecord(d);
        await tx.execute(sql`DELETE FROM ${table} WHERE "id" = ${old.id}`);
        await tx.execute(insertSql({ ...old, ...patch }));
      }),
    delete: (tenantId, seq) =>
      tampering(async (tx) => void (await tx.execute(sql`DELETE FROM ${table} WHERE ${tenantIs(tenantId)} AND "seq" = ${seq}`))),
    insert: async (record) => void (await h.db.execute(insertSql(record))),
    swap: (tenantId, a, b) =>
      tampering(async (tx) => {
        // (tenant_id, seq) is unique: park one row on a free position first.
        await tx.execute(sql`UPDATE ${table} SET "seq" = ${-a} WHERE ${tenantIs(tenantId)} AND "seq" = ${a}`);
        await tx.execute(sql`UPDATE ${table} SET "seq" = ${a} WHERE ${tenantIs(tenantId)} AND "seq" = ${b}`);
        await tx.execute(sql`UPDATE ${table} SET "seq" = ${b} WHERE ${tenantIs(tenantId)} AND "seq" = ${-a}`);
      }),
  };
}
