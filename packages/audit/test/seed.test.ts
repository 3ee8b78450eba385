import { describe, expect, it } from "vitest";
import { ValidationError } from "@ops/core";
import { AUDIT_ACTIONS, auditMetaSafe, createAuditLog, defineAuditActions, makeAuditEntry } from "@ops/audit";
import { memory } from "./helpers.js";

describe("the seed's audit API, as written", () => {
  it("makeAuditEntry builds a normalised entry from the README example", () => {
    const entry = makeAuditEntry({
      tsISO: new Date("2026-01-02T03:04:05Z").toISOString(),
      env: "prod",
      action: "AUTH_LOGIN",
      actorUserId: "user_123",
      surface: "api",
      meta: { ip: "1.2.3.4" },
    });
    expect(entry).toEqual({
      tenantId: null,
      ts: "2026-01-02T03:04:05.000Z",
      env: "prod",
      action: "AUTH_LOGIN",
      actor: { id: "user_123", type: "user" },
      outcome: "success",
      surface: "api",
      meta: { ip: "1.2.3.4" },
    });
  });

  it("the healthcare example: subject, auditMetaSafe meta, and auditStore.save(entry)", async () => {
    const { store } = memory();
    const auditStore = createAuditLog({ store });
    const req = { ip: "10.0.0.8" };
    const patientId = "patient_42";
    const doctorId = "doctor_7";
    const entry = makeAuditEntry({
      tsISO: new Date().toISOString(),
      env: "prod",
      action: "DATA_EXPORT",
      actorUserId: doctorId,
      subjectUserId: patientId,
      surface: "ehr",
      meta: auditMetaSafe({ reason: "patient_chart_view", ip: req.ip }),
    });
    const saved = await auditStore.save(entry);
    expect(saved).toMatchObject({
      seq: 1,
      action: "DATA_EXPORT",
      subject: { id: patientId, type: "user" },
      meta: { reason: "patient_chart_view", ip: "10.0.0.8" },
    });
    expect((await store.range({ tenantId: null, fromSeq: 1 }))[0]?.hash).toBe(saved.hash);
    // The best-practices example: DATA_DELETE with a subject, no meta.
    await auditStore.save(
      makeAuditEntry({
        tsISO: new Date().toISOString(),
        env: "prod",
        action: "DATA_DELETE",
        actorUserId: "admin_1",
        subjectUserId: "user_9",
        surface: "admin_panel",
      }),
    );
    expect((await auditStore.verify({ tenantId: null })).checked).toBe(2);
  });

  it("the universal action set covers auth, access, change, incident and tenant events", () => {
    for (const a of [
      "AUTH_LOGIN",
      "AUTH_LOGOUT",
      "AUTH_LOGIN_FAILED",
      "AUTH_PASSWORD_RESET",
      "AUTH_MFA_CHANGE",
      "ROLE_CHANGE",
      "PERMISSION_CHANGE",
      "DATA_ACCESS",
      "DATA_EXPORT",
      "DATA_DELETE",
      "FLAG_CHANGE",
      "CONFIG_CHANGE",
      "ADMIN_ACTION",
      "INCIDENT_OPENED",
      "INCIDENT_ACKNOWLEDGED",
      "INCIDENT_RESOLVED",
      "TENANT_CREATED",
      "TENANT_DELETED",
      "AUDIT_EXPORT",
    ])
      expect(AUDIT_ACTIONS).toContain(a);
  });

  it("app-defined actions are type-safe and checked at run time", async () => {
    const actions = defineAuditActions(["INVOICE_PAID", "INVOICE_VOIDED"] as const);
    const log = createAuditLog({ store: memory().store, env: "prod", actions });
    await log.append({ action: "INVOICE_PAID", actorUserId: "u1" });
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u1" });
    // @ts-expect-error a typo is a compile error
    await expect(log.append({ action: "INVOICE_PAYED", actorUserId: "u1" })).rejects.toThrow(
      /action: "INVOICE_PAYED" is neither universal nor declared/,
    );
    expect(() => defineAuditActions(["invoice-paid"])).toThrow(ValidationError);
    expect(() => makeAuditEntry({ env: "prod", action: "AUTH_LOGIN", actorUserId: "u" })).not.toThrow();
    // @ts-expect-error makeAuditEntry accepts only universal actions unless widened
    makeAuditEntry({ env: "prod", action: "NOT_A_THING", actorUserId: "u" });
    makeAuditEntry<"INVOICE_PAID">({ env: "prod", action: "INVOICE_PAID", actorUserId: "u" });
  });
});

describe("entry validation", () => {
  const base = { tsISO: "2026-01-01T00:00:00.000Z", env: "prod", action: "AUTH_LOGIN" as const, actorUserId: "u1" };

  it("names the bad field and what was expected", () => {
    const bad = (input: unknown, re: RegExp) => {
      try {
        makeAuditEntry(input as never);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as Error).message).toMatch(/^\[ops\/audit\] invalid audit entry: /);
        expect((err as Error).message).toMatch(re);
        return;
      }
      throw new Error("expected a ValidationError");
    };
    bad({ ...base, tsISO: "yesterday" }, /tsISO: expected an ISO 8601 date-time/);
    bad({ ...base, env: "Prod!" }, /env: expected a lower-case environment slug/);
    bad({ ...base, action: "login" }, /action: expected an UPPER_SNAKE_CASE action/);
    bad({ ...base, actorUserId: undefined }, /actor: expected actor or actorUserId/);
    bad({ ...base, actorUserId: "" }, /actorUserId: expected a non-empty actorUserId/);
    bad({ ...base, outcome: "maybe" }, /outcome/);
    bad({ ...base, actor: { id: "x", type: "robot" } }, /actor\.type/);
    bad({ ...base, meta: { n: Number.NaN } }, /meta\.n/);
    bad({ ...base, tenantId: "has space" }, /tenantId/);
    bad({ tsISO: base.tsISO, action: "AUTH_LOGIN", actorUserId: "u" }, /env: expected an environment name/);
  });

  it("bounds meta size, depth and cycles with a clear error", () => {
    expect(() => makeAuditEntry({ ...base, meta: { blob: "x".repeat(20_000) } })).toThrow(
      /meta: expected at most 16384 bytes of JSON, got 2001\d/,
    );
    expect(() => makeAuditEntry({ ...base, meta: { blob: "x".repeat(900) } }, { maxMetaBytes: 512 })).toThrow(/at most 512 bytes/);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => makeAuditEntry({ ...base, meta: cyclic as never })).toThrow(/meta\.self: expected no circular references/);
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 40; i++) deep = (deep.d = {}) as Record<string, unknown>;
    expect(() => makeAuditEntry({ ...base, meta: root as never })).toThrow(/nesting of at most 32/);
  });

  it("the full CADF/OCSF/ECS model: actor type, ip, agent, target, outcome, reason, tenant, request ids", () => {
    const e = makeAuditEntry({
      ts: "2026-01-01T01:00:00+01:00",
      env: "staging",
      action: "PERMISSION_CHANGE",
      actor: { id: "svc-billing", type: "service", ip: "10.1.2.3", userAgent: "billing/1.2" },
      target: { id: "role-9", type: "role", name: "admins" },
      outcome: "failure",
      reason: "approval missing",
      tenantId: "acme",
      requestId: "req-1",
      correlationId: "corr-1",
    });
    expect(e).toMatchObject({
      ts: "2026-01-01T00:00:00.000Z",
      tenantId: "acme",
      outcome: "failure",
      actor: { type: "service", ip: "10.1.2.3" },
      target: { name: "admins" },
    });
  });

  it("rejects what a database cannot store faithfully: NUL and unpaired surrogates", () => {
    expect(() => makeAuditEntry({ ...base, reason: "a\u0000b" })).toThrow(/reason: expected no NUL characters or unpaired surrogates/);
    expect(() => makeAuditEntry({ ...base, actor: { id: "u\ud800" } })).toThrow(/actor\.id: expected no NUL/);
    expect(() => makeAuditEntry({ ...base, meta: { deep: [{ x: "\udc00" }] } })).toThrow(/meta\.deep\[0\]\.x: expected no NUL/);
    expect(() => makeAuditEntry({ ...base, meta: { "k\u0000": 1 } })).toThrow(/expected no NUL/);
    expect(() => makeAuditEntry({ ...base, reason: "emoji 😀 is fine" })).not.toThrow();
    expect(auditMetaSafe({ "k\u0000": "v\ud800" })).toEqual({ "k\ufffd": "v\ufffd" });
  });

  it("a rejected entry records nothing", async () => {
    const { store } = memory();
    const log = createAuditLog({ store, env: "prod" });
    await expect(log.append({ action: "AUTH_LOGIN", actorUserId: "" })).rejects.toThrow(ValidationError);
    expect(await store.head({ tenantId: null })).toBeNull();
  });
});
