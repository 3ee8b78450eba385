// @ops/audit forgetSubject on PostgreSQL: after it, no table of the schema holds the person's
// name, e-mail, phone, IP or user agent in readable form, and the chain still verifies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuditLog } from "@ops/audit";
import { nodePgExecutor, postgresStores } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();
const ADA = {
  id: "patient_42",
  name: "Ada Lovelace",
  email: "ada.lovelace@example.org",
  phone: "+44 20 7946 0958",
  ip: "203.0.113.42",
  ua: "Mozilla/5.0 (X11) AdaBrowser/1.0",
};

describe.skipIf(!up)("adapter-postgres: forgetSubject erases the person from every table", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  beforeAll(async () => {
    db = await createSchema("erasure");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("audit rows, subject keys, auth events, incidents, outbox: nothing readable left; the chain verifies", async () => {
    const stores = postgresStores(nodePgExecutor(db.pool), { schema: db.schema });
    const log = createAuditLog({
      store: stores.audit!,
      keys: stores.auditKeys!,
      env: "prod",
      erasure: { authEvents: stores.authEvents!, incidents: stores.incidents!, outbox: stores.outbox! },
    });
    const t = "clinic";
    await log.append({
      action: "DATA_EXPORT",
      tenantId: t,
      actor: { id: ADA.id, type: "user", ip: ADA.ip, userAgent: ADA.ua },
      target: { id: "chart_42", name: `${ADA.name} chart` },
      reason: `${ADA.name} asked`,
      meta: { email: ADA.email, profile: { name: ADA.name, contacts: [{ phone: ADA.phone }] } },
    });
    await log.append({
      action: "DATA_ACCESS",
      tenantId: t,
      actor: { id: ADA.id, type: "user", ip: ADA.ip, userAgent: ADA.ua },
      subject: { id: "other_7" },
    });
    await log.append({
      action: "DATA_ACCESS",
      tenantId: t,
      actor: { id: "doctor_1", type: "user", ip: "198.51.100.9" },
      subject: { id: ADA.id },
      reason: `called ${ADA.phone}`,
    });
    await stores.authEvents!.append({
      events: [
        {
          id: "ev1",
          type: "LOGIN_FAILED",
          occurredAt: "2026-03-01T10:00:00.000Z",
          tenantId: t,
          userId: ADA.id,
          ip: ADA.ip,
          meta: { email: ADA.email, userAgent: ADA.ua },
        },
      ],
    });
    await stores.incidents!.create({
      record: {
        id: "inc1",
        tenantId: t,
        fingerprint: "bf",
        type: "BRUTE_FORCE",
        severity: "high",
        state: "open",
        title: `Brute force from ${ADA.ip}`,
        openedAt: "2026-03-01T10:00:00.000Z",
        updatedAt: "2026-03-01T10:00:00.000Z",
        data: { offenders: [{ userId: ADA.id, ip: ADA.ip }] },
      },
    });
    await stores.outbox!.enqueue({
      message: {
        id: "msg1",
        tenantId: t,
        channel: "email",
        idempotencyKey: `k-${db.schema}`,
        createdAt: "2026-03-01T10:00:00.000Z",
        payload: { text: `User ${ADA.name} (${ADA.email}) locked out` },
      },
    });

    const report = await log.forgetSubject({ tenantId: t, subjectId: ADA.id, actor: { id: "dpo", type: "user" } });
    expect(report.erased.filter((e) => e.store !== "audit").map((e) => e.records)).toEqual([1, 1, 1]);

    // Every table of the schema, as text.
    const tables = (await db.pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [db.schema])).rows.map(
      (r: { table_name: string }) => r.table_name,
    );
    let dump = "";
    for (const name of tables) dump += JSON.stringify((await db.pool.query(`SELECT * FROM "${db.schema}"."${name}"`)).rows);
    const lower = dump.toLowerCase();
    expect([ADA.name, ADA.email, ADA.phone, ADA.ip, ADA.ua].filter((s) => lower.includes(s.toLowerCase()))).toEqual([]);
    expect(
      await stores.auditKeys!.get({
        tenantId: t,
        keyId: (await stores.audit!.range({ tenantId: t, fromSeq: 1, limit: 1 }))[0]!.sealed!.keyId,
      }),
    ).toBeNull();
    expect((await log.verify({ tenantId: t })).ok).toBe(true);
    await log.close();
    await stores.close();
  });
});
