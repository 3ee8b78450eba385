import { describe, expect, it } from "vitest";
import pg from "pg";
import type { AuditRecord } from "@ops/core";
import { canonicalJson, chainOn, computeAuditHash, auditHashInput, type ChainableEntry } from "@ops/audit";
import { PG_URL, pgUp } from "./helpers.js";

function sample(): ChainableEntry[] {
  return [
    {
      id: "aud_1",
      tenantId: "acme",
      ts: "2026-05-06T07:08:09.123Z",
      env: "prod",
      action: "DATA_ACCESS",
      actor: { id: "u1", type: "user", ip: "203.0.113.1" },
      subject: { id: "p9", type: "user" },
      outcome: "success",
      meta: { z: 1, a: { y: [1, 2.5, 1e21, -0.001, 1.5e-7, 12345678901234567], x: 'é ✓ \u2028 "q"' }, m: null, t: true, e: {}, l: [] },
    },
    {
      id: "aud_2",
      tenantId: "acme",
      ts: "2026-05-06T07:08:09.000Z",
      env: "prod",
      action: "AUTH_LOGIN",
      actor: { id: "s", type: "service" },
      outcome: "failure",
      reason: "",
      meta: {},
    },
  ];
}

describe("canonical encoding", () => {
  it("ignores key order and number spelling, keeps everything else", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1.0, c: 2 }] })).toBe(canonicalJson(JSON.parse('{"a":[{"c":2,"d":1.000}],"b":1e0}')));
    expect(canonicalJson({ a: "1" })).not.toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });

  it("null and absent optional fields hash alike (databases return NULL for absent)", () => {
    const [r] = chainOn(null, "acme", [sample()[1]!]);
    const withNulls: AuditRecord = {
      ...r!,
      subject: null,
      target: null,
      requestId: null,
      surface: null,
      sealed: null,
      actor: { ...r!.actor, ip: null, userAgent: null },
    };
    expect(computeAuditHash(withNulls)).toBe(r!.hash);
  });

  it("every hashed field changes the hash; seq does not (order is fixed by prevHash)", () => {
    const [r] = chainOn(null, "acme", [sample()[0]!]);
    const base = computeAuditHash(r!);
    const variants: Partial<AuditRecord>[] = [
      { id: "aud_x" },
      { tenantId: "other" },
      { tenantId: null },
      { prevHash: "ab" },
      { ts: "2026-05-06T07:08:09.124Z" },
      { env: "dev" },
      { action: "AUTH_LOGOUT" },
      { actor: { id: "u2", type: "user" } },
      { subject: null },
      { target: { id: "t" } },
      { outcome: "failure" },
      { reason: "r" },
      { surface: "api" },
      { requestId: "r" },
      { correlationId: "c" },
      { meta: { z: 2 } },
      { sealed: { keyId: "k", alg: "A256GCM", iv: "i", data: "d", fields: ["meta.email"] } },
    ];
    for (const v of variants) expect(computeAuditHash({ ...r!, ...v }), JSON.stringify(v)).not.toBe(base);
    const moved: AuditRecord = { ...r!, seq: 99 };
    expect(computeAuditHash(moved)).toBe(base);
    // Length prefixes: moving a character between fields changes the input.
    expect(auditHashInput({ ...r!, env: "ab", action: "C" })).not.toBe(auditHashInput({ ...r!, env: "a", action: "BC" }));
  });

  it("a JS JSON round trip keeps the hash", () => {
    for (const r of chainOn(null, "acme", sample())) expect(computeAuditHash(JSON.parse(JSON.stringify(r)) as AuditRecord)).toBe(r.hash);
  });
});

const up = await pgUp();
describe.skipIf(!up)("canonical encoding survives a real PostgreSQL JSONB + timestamptz round trip", () => {
  it("hashes recomputed from rows read back from PostgreSQL match", async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    const schema = `audit_enc_${process.pid}_${Date.now()}`;
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(
        `CREATE TABLE ${schema}.audit (id text primary key, tenant_id text, seq int, prev_hash text, hash text, ts timestamptz(6), env text, action text, actor jsonb, subject jsonb, target jsonb, outcome text, reason text, surface text, request_id text, correlation_id text, meta jsonb, sealed jsonb)`,
      );
      const records = chainOn(null, "acme", sample());
      for (const r of records)
        await client.query(`INSERT INTO ${schema}.audit VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)`, [
          r.id,
          r.tenantId,
          r.seq,
          r.prevHash,
          r.hash,
          r.ts,
          r.env,
          r.action,
          JSON.stringify(r.actor),
          r.subject ? JSON.stringify(r.subject) : null,
          r.target ? JSON.stringify(r.target) : null,
          r.outcome,
          r.reason ?? null,
          r.surface ?? null,
          r.requestId ?? null,
          r.correlationId ?? null,
          JSON.stringify(r.meta),
          null,
        ]);
      const { rows } = await client.query(`SELECT * FROM ${schema}.audit ORDER BY seq`);
      // JSONB really did reorder keys and respell numbers:
      expect(JSON.stringify(rows[0].meta)).not.toBe(JSON.stringify(records[0]!.meta));
      const back: AuditRecord[] = rows.map(
        (row: Record<string, unknown>) =>
          ({
            id: row.id,
            tenantId: row.tenant_id,
            seq: row.seq,
            prevHash: row.prev_hash,
            hash: row.hash,
            ts: (row.ts as Date).toISOString(),
            env: row.env,
            action: row.action,
            actor: row.actor,
            subject: row.subject,
            target: row.target,
            outcome: row.outcome,
            reason: row.reason,
            surface: row.surface,
            requestId: row.request_id,
            correlationId: row.correlation_id,
            meta: row.meta,
            sealed: row.sealed,
          }) as AuditRecord,
      );
      back.forEach((r, i) => expect(computeAuditHash(r), `row ${i}`).toBe(records[i]!.hash));
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
