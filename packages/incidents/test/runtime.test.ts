import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { MemoryAuthEventStore, MemoryCounterStore, MemoryIncidentStore } from "@ops/adapter-memory";
import { AUTH_INCIDENT_TYPES, ManualClock, type AuthIncidentType } from "@ops/core";
import { createOpsRuntime, type AuthSignal, type OpsRuntimeOptions } from "../src/index.js";
import { dataOf } from "../src/incident-data.js";
import { CollectingAuditSink, CollectingNotifier, MapFlagWriter } from "./ports.js";

const MIN = 60_000;

/** Signals that trip each type's default rule: [event type, per bucket, buckets]. */
const RECIPES: Record<AuthIncidentType, [string, number, number]> = {
  FAILED_LOGINS_SPIKE: ["LOGIN_FAILED", 40, 2],
  PASSWORD_RESET_FAILURES: ["PASSWORD_RESET_FAILED", 12, 2],
  OAUTH_CALLBACK_ERRORS: ["OAUTH_CALLBACK_ERROR", 6, 2],
  JWT_VALIDATION_ERRORS: ["JWT_VALIDATION_ERROR", 25, 2],
  SESSION_ANOMALIES: ["SESSION_ANOMALY", 4, 2],
  TENANT_LEAK_RISK: ["CROSS_TENANT_ACCESS", 1, 1],
  SUSPICIOUS_ADMIN_LOGIN: ["ADMIN_LOGIN_FAILED", 6, 1],
  EMAIL_VERIFICATION_FAILURES: ["EMAIL_VERIFICATION_FAILED", 12, 2],
};

function setup(over: Partial<OpsRuntimeOptions> = {}) {
  const clock = new ManualClock("2026-11-26T10:00:01.000Z");
  const stores = {
    incidents: new MemoryIncidentStore({ clock }),
    counters: new MemoryCounterStore({ clock }),
    authEvents: new MemoryAuthEventStore({ clock }),
  };
  const flags = new MapFlagWriter();
  const audit = new CollectingAuditSink();
  const notifier = new CollectingNotifier();
  const runtime = createOpsRuntime({ stores, clock, flags, audit, notifier, mitigation: { mode: "apply" }, ...over });
  return { clock, stores, flags, audit, notifier, runtime };
}

function burst(record: (s: AuthSignal) => void, type: string, n: number, tenantId: string) {
  for (let i = 0; i < n; i++) record({ type, tenantId, userId: `u${i}`, ip: `198.51.100.${i % 250}` });
}

describe("end to end, per incident type: signals -> incident -> response -> flags -> audit -> rollback", () => {
  it.each(AUTH_INCIDENT_TYPES)("%s", async (type) => {
    // The app opts in to tenant incidents changing global flags here, to run every recommended
    // flag through apply and rollback (the default refuses it: tenant-global-flags.test.ts).
    const { clock, stores, flags, audit, runtime } = setup({ mitigation: { mode: "apply", tenantIncidentsMayChangeGlobalFlags: true } });
    const [eventType, perBucket, buckets] = RECIPES[type];
    // A value set before the incident must come back exactly on rollback.
    const firstFlag = runtime.registry.run({
      event_id: "probe",
      incident_type: type,
      severity_guess: 3,
      occurred_at: clock.date().toISOString(),
      metrics_snapshot: {},
    }).recommended_flags[0]!;
    const firstTenant = firstFlag.scope === "tenant" ? "acme" : null;
    await flags.setValue({ key: firstFlag.key, value: "before", tenantId: firstTenant, actor: "admin", reason: "setup" });

    for (let b = 0; b < buckets; b++) {
      burst((s) => runtime.recordAuthEvent(s), eventType, perBucket, "acme");
      clock.advance(MIN);
    }
    const report = await runtime.tick();
    expect(report.errors).toEqual([]);
    const mine = report.raised.find((i) => i.tenantId === "acme");
    expect(mine?.type).toBe(type);
    const d = dataOf(mine!);
    expect(d.response.decision.length).toBeGreaterThan(0);
    expect(d.event.metrics_snapshot).toMatchObject({ window_counts: Array(buckets).fill(perBucket) });

    const now = await stores.incidents.get({ tenantId: "acme", id: mine!.id });
    expect(now?.state).toBe("mitigated");
    const applied = dataOf(now!).mitigation!;
    expect(applied.status).toBe("applied");
    for (const f of d.response.recommended_flags) expect(flags.get(f.key, f.scope === "tenant" ? "acme" : null)).toEqual(f.value);
    expect(flags.changes.filter((c) => c.actor === "ops-spine").every((c) => c.reason.includes("incident"))).toBe(true);
    expect(audit.actions(mine!.id)).toEqual(["INCIDENT_OPENED", "INCIDENT_MITIGATED"]);

    // Someone changes an unrelated flag meanwhile: rollback must leave it alone.
    await flags.setValue({ key: "unrelated.flag", value: 42, actor: "admin", reason: "meanwhile" });
    await runtime.rollback({ tenantId: "acme", id: mine!.id, actor: "oncall@acme" });
    // Exactly the values this incident replaced come back (unset ones are cleared again).
    for (const a of applied.applied) expect(flags.get(a.key, a.tenantId)).toEqual(a.hadPrevious ? a.previous : undefined);
    if (firstFlag.scope === "tenant") expect(flags.get(firstFlag.key, "acme")).toBe("before");
    expect(applied.applied.some((a) => a.key === firstFlag.key && a.hadPrevious)).toBe(true);
    expect(flags.get("unrelated.flag")).toBe(42);
    expect(audit.actions(mine!.id)).toEqual(["INCIDENT_OPENED", "INCIDENT_MITIGATED", "INCIDENT_ROLLED_BACK"]);
    await expect(runtime.rollback({ tenantId: "acme", id: mine!.id })).rejects.toThrow(/nothing to roll back/);

    // The signals were stored in the AuthEventStore.
    const logged = await stores.authEvents.list({ tenantId: "acme", types: [eventType], limit: 1000 });
    expect(logged.items).toHaveLength(perBucket * buckets);

    // Signals recede: the incident resolves itself, audited.
    clock.advance(10 * MIN);
    const later = await runtime.tick();
    expect(later.resolved.map((r) => r.id)).toContain(mine!.id);
    expect(audit.actions(mine!.id).at(-1)).toBe("INCIDENT_RESOLVED");
    await runtime.stop();
  });
});

describe("detection details", () => {
  it("needs two consecutive bad buckets: one burst alone does not fire", async () => {
    const { clock, runtime } = setup();
    burst((s) => runtime.recordAuthEvent(s), "LOGIN_FAILED", 100, "acme");
    clock.advance(MIN);
    burst((s) => runtime.recordAuthEvent(s), "LOGIN_SUCCEEDED", 5, "acme");
    clock.advance(MIN);
    const r = await runtime.tick();
    expect(r.firing).toEqual([]);
  });

  it("respects the ratio and its volume floor", async () => {
    const { clock, runtime } = setup();
    for (let b = 0; b < 2; b++) {
      burst((s) => runtime.recordAuthEvent(s), "LOGIN_FAILED", 40, "busy");
      burst((s) => runtime.recordAuthEvent(s), "LOGIN_SUCCEEDED", 400, "busy");
      clock.advance(MIN);
    }
    expect((await runtime.tick()).firing).toEqual([]);
  });

  it("re-running a window never raises twice; a later window updates the same incident", async () => {
    const { clock, runtime, stores } = setup({ mitigation: { mode: "suggest" } });
    for (let b = 0; b < 2; b++) {
      burst((s) => runtime.recordAuthEvent(s), "JWT_VALIDATION_ERROR", 30, "acme");
      clock.advance(MIN);
    }
    const first = await runtime.tick();
    expect(first.raised.map((i) => i.tenantId)).toEqual(["acme"]); // one tenant's attack is not also a global incident
    const again = await runtime.tick();
    expect(again.raised).toEqual([]);
    burst((s) => runtime.recordAuthEvent(s), "JWT_VALIDATION_ERROR", 30, "acme");
    clock.advance(MIN);
    const third = await runtime.tick();
    expect(third.raised).toEqual([]);
    expect(third.updated).toBe(1);
    const list = await stores.incidents.list({ tenantId: "acme" });
    expect(list.items).toHaveLength(1);
    expect(dataOf(list.items[0]!).occurrences).toBe(2);
    expect(dataOf(list.items[0]!).mitigation?.status).toBe("suggested");
  });

  it("a spike spread thin over many tenants is a global incident, none per tenant", async () => {
    const { clock, runtime } = setup({ mitigation: { mode: "off" } });
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 10; t++) burst((s) => runtime.recordAuthEvent(s), "LOGIN_FAILED", 4, `t${t}`);
      clock.advance(MIN);
    }
    const r = await runtime.tick();
    expect(r.raised.map((i) => [i.tenantId, i.type])).toEqual([[null, "FAILED_LOGINS_SPIKE"]]);
    expect(dataOf(r.raised[0]!).event.metrics_snapshot.window_counts).toEqual([40, 40]);
  });

  it("an identity crossing its threshold (10 failures per user+IP in 10 min) fires at once", async () => {
    const { clock, runtime, stores } = setup({ mitigation: { mode: "off" } });
    for (let i = 0; i < 10; i++) runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "alice", ip: "203.0.113.9" });
    clock.advance(MIN);
    const r = await runtime.tick();
    const f = r.firing.find((x) => x.tenantId === "acme");
    expect(f?.reason).toBe("identity");
    const crossings = await stores.authEvents.list({ tenantId: "acme", types: ["THRESHOLD_EXCEEDED"] });
    expect(crossings.items).toHaveLength(1);
    expect(crossings.items[0]).toMatchObject({ userId: "alice", ip: "203.0.113.9", meta: { rule: "login-user-ip", count: 10 } });
    const incident = r.raised.find((i) => i.tenantId === "acme")!;
    expect(dataOf(incident).event.metrics_snapshot.identities).toEqual([{ userId: "alice", ip: "203.0.113.9", count: 10 }]);
  });

  it("counts a spike spread over many instances once, through shared counters", async () => {
    const clock = new ManualClock("2026-11-26T10:00:01.000Z");
    const shared = memoryStores({ clock });
    const audit = new CollectingAuditSink();
    const instances = Array.from({ length: 5 }, (_, i) =>
      createOpsRuntime({ stores: shared, clock, audit, instanceId: `app-${i}`, mitigation: { mode: "off" } }),
    );
    for (let b = 0; b < 2; b++) {
      // 8 failures per instance per minute: under the per-bucket floor (20) on each, 40 together.
      for (const rt of instances) burst((s) => rt.recordAuthEvent(s), "LOGIN_FAILED", 8, "acme");
      clock.advance(MIN);
    }
    const reports = await Promise.all(instances.map((rt) => rt.tick()));
    const raised = reports.flatMap((r) => r.raised).filter((i) => i.tenantId === "acme");
    expect(raised).toHaveLength(1);
    expect(audit.entries.filter((e) => e.action === "INCIDENT_OPENED" && e.tenantId === "acme")).toHaveLength(1);
  });

  it("an EWMA baseline ignores a tenant's normal level and fires on a jump", async () => {
    const rules = [
      {
        id: "jwt-ewma",
        incidentType: "JWT_VALIDATION_ERRORS",
        events: ["JWT_VALIDATION_ERROR"],
        minCount: 5,
        ewma: { alpha: 0.3, factor: 3, minBaseline: 5, history: 10 },
        metric: "jwt_validation_errors_1h",
        severity: () => 2,
        scope: "tenant" as const,
      },
    ];
    const { clock, runtime } = setup({ rules, mitigation: { mode: "off" } });
    for (let b = 0; b < 12; b++) {
      burst((s) => runtime.recordAuthEvent(s), "JWT_VALIDATION_ERROR", 20, "noisy");
      clock.advance(MIN);
    }
    expect((await runtime.tick()).firing).toEqual([]);
    for (let b = 0; b < 2; b++) {
      burst((s) => runtime.recordAuthEvent(s), "JWT_VALIDATION_ERROR", 90, "noisy");
      clock.advance(MIN);
    }
    expect((await runtime.tick()).firing.map((f) => f.tenantId)).toEqual(["noisy"]);
  });
});
