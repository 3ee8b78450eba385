import { describe, expect, it } from "vitest";
import { MemoryIncidentStore } from "@ops/adapter-memory";
import { ValidationError, type IncidentRecord, type Severity, type TenantKey } from "@ops/core";
import { createTriage, PRIOR_WEIGHTS } from "../src/index.js";

let n = 0;
function incident(type: string, severity: Severity, metric = 100, tenantId: TenantKey = "acme"): IncidentRecord {
  n++;
  return {
    id: `inc_${String(n).padStart(4, "0")}`,
    tenantId,
    fingerprint: `fp_${n}`,
    type,
    severity,
    state: "open",
    title: type,
    openedAt: new Date(Date.UTC(2026, 10, 26, 10, 0, n)).toISOString(),
    updatedAt: new Date(Date.UTC(2026, 10, 26, 10, 0, n)).toISOString(),
    data: { event: { metrics_snapshot: { some_metric_1h: metric } }, occurrences: 1 },
    version: 1,
  };
}

describe("triage", () => {
  it("ranks by the rule prior before there are labels, and never drops an incident", async () => {
    const t = createTriage({ store: new MemoryIncidentStore() });
    const leak = incident("TENANT_LEAK_RISK", "critical", 1);
    const mail = incident("EMAIL_VERIFICATION_FAILURES", "medium", 30);
    const logins = incident("FAILED_LOGINS_SPIKE", "high", 5000);
    const ranked = await t.rank([mail, logins, leak]);
    expect(ranked.map((r) => r.incident.id)).toEqual([leak.id, logins.id, mail.id]);
    expect(ranked.every((r) => r.source === "prior")).toBe(true);
    expect(ranked).toHaveLength(3);
    const why = await t.explain(leak);
    expect(why.contributions[0]!.feature).toBe("severity");
    expect(why.contributions.map((c) => c.feature)).toContain("admin_involved");
  });

  it("learns from outcomes, persists the model, is deterministic and explains itself", async () => {
    const store = new MemoryIncidentStore();
    const t = createTriage({ store, minLabels: 20 });
    // In this app JWT alerts (high) are mostly noise and email verification alerts (medium) are real.
    for (let i = 0; i < 15; i++) {
      await t.label({ incident: incident("JWT_VALIDATION_ERRORS", "high", 80), outcome: i < 13 ? "false_alarm" : "actioned" });
      await t.label({ incident: incident("EMAIL_VERIFICATION_FAILURES", "medium", 40), outcome: i < 13 ? "actioned" : "false_alarm" });
    }
    expect(await t.train()).toEqual({ source: "model", labels: 30 });
    const first = (await store.getModel({ tenantId: null, name: "triage" }))!.model;
    await t.train();
    expect((await store.getModel({ tenantId: null, name: "triage" }))!.model.weights).toEqual(first.weights);

    const jwt = incident("JWT_VALIDATION_ERRORS", "high", 80);
    const mail = incident("EMAIL_VERIFICATION_FAILURES", "medium", 40);
    const fresh = createTriage({ store }); // another instance reads the persisted model
    const ranked = await fresh.rank([jwt, mail]);
    expect(ranked.map((r) => r.incident.id)).toEqual([mail.id, jwt.id]);
    expect(ranked[0]!.source).toBe("model");
    const why = await fresh.explain(jwt);
    expect(why.contributions.map((c) => c.feature)).toContain("type:JWT_VALIDATION_ERRORS");
    expect(why.contributions.find((c) => c.feature === "type:JWT_VALIDATION_ERRORS")!.weight).toBeLessThan(0);
  });

  it("keeps the prior until there are enough labels of both outcomes", async () => {
    const store = new MemoryIncidentStore();
    const t = createTriage({ store, minLabels: 5 });
    for (let i = 0; i < 10; i++) await t.label({ incident: incident("SESSION_ANOMALIES", "high"), outcome: "actioned" });
    expect(await t.train()).toEqual({ source: "prior", labels: 10 });
    expect((await store.getModel({ tenantId: null, name: "triage" }))!.model.weights).toEqual({ ...PRIOR_WEIGHTS });
    await expect(t.label({ incident: incident("SESSION_ANOMALIES", "high"), outcome: "maybe" as "actioned" })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
