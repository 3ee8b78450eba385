import { text } from "node:stream/consumers";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { createAuditLog, exportCsv, exportJsonl, generateCheckpointKeys, verifyExport } from "@ops/audit";

const ADA = {
  id: "patient_42",
  name: "Ada Lovelace",
  email: "ada.lovelace@example.org",
  phone: "+44 20 7946 0958",
  ip: "203.0.113.42",
  ua: "Mozilla/5.0 (X11) AdaBrowser/1.0",
};
const readable = [ADA.name, ADA.email, ADA.phone, ADA.ip, ADA.ua];

function leaks(haystack: string): string[] {
  const lower = haystack.toLowerCase();
  return readable.filter((s) => lower.includes(s.toLowerCase()) || lower.includes(JSON.stringify(s).slice(1, -1).toLowerCase()));
}

describe("forgetSubject erases the person everywhere, and the chain still verifies", () => {
  it("audit rows (nested meta, reason, target.name, actor IP/UA on others' entries), auth events, incidents, notifications, exports", async () => {
    const stores = memoryStores();
    const cpKeys = generateCheckpointKeys();
    const log = createAuditLog({
      store: stores.audit,
      keys: stores.auditKeys,
      env: "prod",
      checkpoints: { privateKey: cpKeys.privateKey, sinks: [] },
      erasure: { authEvents: stores.authEvents, incidents: stores.incidents, outbox: stores.outbox },
    });
    const t = "clinic";
    // Ada acting on her own record.
    await log.append({
      action: "DATA_EXPORT",
      tenantId: t,
      actor: { id: ADA.id, type: "user", ip: ADA.ip, userAgent: ADA.ua },
      target: { id: "chart_42", name: `${ADA.name} chart` },
      reason: `${ADA.name} asked for her chart`,
      meta: { email: ADA.email, profile: { name: ADA.name, contacts: [{ phone: ADA.phone }] } },
    });
    // Ada acting on someone else: her IP and user agent are hers, sealed under her key.
    await log.append({
      action: "DATA_ACCESS",
      tenantId: t,
      actor: { id: ADA.id, type: "user", ip: ADA.ip, userAgent: ADA.ua },
      subject: { id: "other_7" },
      meta: { route: "/x" },
    });
    // A doctor acting on Ada.
    await log.append({
      action: "DATA_ACCESS",
      tenantId: t,
      actor: { id: "doctor_1", type: "user", ip: "198.51.100.9" },
      subject: { id: ADA.id },
      reason: `called ${ADA.phone}`,
      meta: { customer: { contact: { email: ADA.email } } },
    });
    await log.append({ action: "AUTH_LOGIN", tenantId: t, actor: { id: "doctor_1", type: "user" } });
    await stores.authEvents.append({
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
        { id: "ev2", type: "LOGIN_FAILED", occurredAt: "2026-03-01T10:00:01.000Z", tenantId: t, userId: "someone", ip: ADA.ip },
        { id: "ev3", type: "LOGIN_SUCCEEDED", occurredAt: "2026-03-01T10:00:02.000Z", tenantId: t, userId: "doctor_1", ip: "198.51.100.9" },
      ],
    });
    await stores.incidents.create({
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
        data: { offenders: [{ userId: ADA.id, ip: ADA.ip }], note: `contact ${ADA.email}` },
      },
    });
    await stores.outbox.enqueue({
      message: {
        id: "msg1",
        tenantId: t,
        channel: "email",
        idempotencyKey: "k1",
        createdAt: "2026-03-01T10:00:00.000Z",
        payload: { text: `User ${ADA.name} (${ADA.email}) was locked out`, userId: ADA.id },
      },
    });

    const report = await log.forgetSubject({
      tenantId: t,
      subjectId: ADA.id,
      actor: { id: "dpo", type: "user" },
      reason: `Art. 17 request by ${ADA.name}, ${ADA.email}`,
    });
    expect(report.keysDestroyed).toBe(1);
    expect(report.erased).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ store: "audit", records: 3 }),
        { store: "authEvents", records: 2 },
        { store: "incidents", records: 1 },
        { store: "notifications", records: 1 },
      ]),
    );

    // Search every table, every export and every notification.
    const rows = await stores.audit.range({ tenantId: t, fromSeq: 1, limit: 100 });
    const views = (await log.query({ tenantId: t })).items;
    const jsonl = await text(exportJsonl(log, { tenantId: t }));
    const csv = await text(exportCsv(log, { tenantId: t }));
    const events = (await stores.authEvents.list({ tenantId: t })).items;
    const incidents = (await stores.incidents.list({ tenantId: t })).items;
    const messages = (await stores.outbox.list({ tenantId: t })).items;
    const everything = JSON.stringify({ rows, views, events, incidents, messages }) + jsonl + csv;
    expect(leaks(everything)).toEqual([]);
    // The SUBJECT_FORGOTTEN entry itself carries the report, not the person.
    const forgotten = views.find((v) => v.action === "SUBJECT_FORGOTTEN")!;
    expect(forgotten.meta).toMatchObject({ keysDestroyed: 1, pseudonym: report.pseudonym });
    expect(events.find((e) => e.id === "ev1")).toMatchObject({ userId: report.pseudonym });
    expect(events.find((e) => e.id === "ev1")!.ip).toBeUndefined();
    expect(events.find((e) => e.id === "ev3")).toMatchObject({ userId: "doctor_1", ip: "198.51.100.9" });
    // The doctor's own data is untouched and still readable.
    expect(views.find((v) => v.actor.id === "doctor_1" && v.subject?.id === ADA.id)!.actor.ip).toBe("198.51.100.9");

    // The chain and the exports still verify.
    await log.checkpoint();
    expect(await log.verify({ tenantId: t, checkpoints: [log.lastCheckpoint!] })).toMatchObject({ ok: true });
    const res = await verifyExport(Readable.from([await text(exportJsonl(log, { tenantId: t }))]), {
      publicKey: cpKeys.publicKey,
      checkpoints: [log.lastCheckpoint!],
    });
    expect(res, JSON.stringify(res.problems)).toMatchObject({ ok: true });
  });

  it("nested meta paths are configurable; default sealing covers keys at any depth", async () => {
    const stores = memoryStores();
    const log = createAuditLog({
      store: stores.audit,
      keys: stores.auditKeys,
      env: "prod",
      personalFields: ["meta.order.shipping.street", "meta.**.mobile"],
    });
    const rec = await log.append({
      action: "DATA_ACCESS",
      actorUserId: "u1",
      meta: { order: { shipping: { street: "1 Main St", city: "Paris" } }, a: [{ b: { Mobile: "0611223344" } }] },
    });
    expect(JSON.stringify(rec.meta)).not.toMatch(/Main St|0611223344/);
    expect(rec.sealed?.fields.sort()).toEqual(["meta.a.0.b.Mobile", "meta.order.shipping.street"]);
    const view = (await log.query({ tenantId: null })).items[0]!;
    expect(view.meta).toEqual({ order: { shipping: { street: "1 Main St", city: "Paris" } }, a: [{ b: { Mobile: "0611223344" } }] });
    await log.forgetSubject({ subjectId: "u1", actor: { id: "dpo" } });
    const after = (await log.query({ tenantId: null })).items[0]!;
    expect(after.meta).toEqual({ order: { shipping: { street: "[ERASED]", city: "Paris" } }, a: [{ b: { Mobile: "[ERASED]" } }] });
    expect((await log.verify({ tenantId: null })).ok).toBe(true);
  });
});
