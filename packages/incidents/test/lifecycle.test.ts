import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { ConflictError, ManualClock, NotFoundError, ValidationError } from "@ops/core";
import { createOpsRuntime, deriveAuthIncidents, groupDedupeKey, type OpsRuntimeOptions } from "../src/index.js";
import { dataOf } from "../src/incident-data.js";
import { CollectingAuditSink, CollectingNotifier, MapFlagWriter } from "./ports.js";

const S = 1000;
const MIN = 60 * S;

function setup(over: Partial<OpsRuntimeOptions> = {}) {
  const clock = new ManualClock("2026-11-26T10:00:00.000Z");
  const stores = memoryStores({ clock });
  const flags = new MapFlagWriter();
  const audit = new CollectingAuditSink();
  const notifier = new CollectingNotifier();
  const runtime = createOpsRuntime({ stores, clock, flags, audit, notifier, ...over });
  const raise = (metrics: Record<string, number>, tenantId: string | null = "acme") =>
    Promise.all(deriveAuthIncidents(metrics, { tenantId, now: clock.now() }).map((e) => runtime.handle(e)));
  return { clock, stores, flags, audit, notifier, runtime, raise };
}

describe("lifecycle", () => {
  it("open -> acknowledged -> mitigated -> resolved, each transition audited with its actor", async () => {
    const { runtime, raise, audit } = setup();
    const { incident } = (await raise({ session_anomalies_1h: 9 }))[0]!;
    await runtime.acknowledge({ tenantId: "acme", id: incident.id, actor: "alice", reason: "looking" });
    await runtime.manager.transition({ tenantId: "acme", id: incident.id, to: "mitigated", actor: "alice" });
    const done = await runtime.resolve({ tenantId: "acme", id: incident.id, actor: "alice", reason: "sessions revoked" });
    expect(done.state).toBe("resolved");
    expect(done.resolvedAt).toBeDefined();
    expect(audit.entries.filter((e) => e.target?.id === incident.id).map((e) => [e.action, e.actor.id])).toEqual([
      ["INCIDENT_OPENED", "ops-spine"],
      ["INCIDENT_ACKNOWLEDGED", "alice"],
      ["INCIDENT_MITIGATED", "alice"],
      ["INCIDENT_RESOLVED", "alice"],
    ]);
    expect(dataOf(done).history.map((h) => h.to)).toEqual(["open", "acknowledged", "mitigated", "resolved"]);
    await expect(runtime.acknowledge({ tenantId: "acme", id: incident.id, actor: "bob" })).rejects.toBeInstanceOf(ConflictError);
    await expect(runtime.acknowledge({ tenantId: "globex", id: incident.id, actor: "bob" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(runtime.acknowledge({ tenantId: "acme", id: incident.id, actor: "" })).rejects.toBeInstanceOf(ValidationError);
  });

  it("an audit write that fails is kept and retried on the next tick, in order", async () => {
    const { runtime, raise, audit, clock } = setup();
    const real = audit.record.bind(audit);
    let down = true;
    audit.record = async (e) => (down ? Promise.reject(new Error("audit store down")) : real(e));
    const [r] = await raise({ session_anomalies_1h: 9 });
    await runtime.acknowledge({ tenantId: "acme", id: r!.incident.id, actor: "alice" });
    expect(audit.entries).toEqual([]);
    expect((await runtime.tick()).errors).toEqual([]);
    expect(audit.entries).toEqual([]);
    down = false;
    // The entries wait in the transactional outbox (stores.effects) and the relay retries them with backoff.
    clock.advance(60 * S);
    await runtime.tick();
    expect(audit.actions(r!.incident.id)).toEqual(["INCIDENT_OPENED", "INCIDENT_ACKNOWLEDGED"]);
    await runtime.tick();
    expect(audit.actions(r!.incident.id)).toHaveLength(2);
  });

  it("dedupes by fingerprint: the same type and tenant is one incident while active", async () => {
    const { raise, stores, clock } = setup();
    await raise({ session_anomalies_1h: 9 });
    clock.advance(61 * MIN); // next window, new event id, same fingerprint
    const [again] = await raise({ session_anomalies_1h: 12 });
    expect(again!.created).toBe(false);
    const list = await stores.incidents.list({ tenantId: "acme" });
    expect(list.items).toHaveLength(1);
    expect(dataOf(list.items[0]!).occurrences).toBe(2);
  });
});

describe("mitigation policy", () => {
  it("suggest records the flags and flips nothing; applyMitigation flips them later", async () => {
    const { runtime, raise, flags } = setup({ mitigation: { mode: "suggest" } });
    const [r] = await raise({ failed_logins_1h: 500 });
    expect(r!.mitigation?.status).toBe("suggested");
    expect(flags.changes).toEqual([]);
    const res = await runtime.applyMitigation({ tenantId: "acme", id: r!.incident.id, actor: "alice" });
    expect(res.status).toBe("applied");
    expect(flags.get("auth.login.rate_limit_strict", "acme")).toBe(true);
  });

  it("off does nothing", async () => {
    const { raise, flags } = setup({ mitigation: { mode: "off" } });
    const [r] = await raise({ failed_logins_1h: 500 });
    expect(r!.mitigation?.status).toBe("skipped");
    expect(flags.changes).toEqual([]);
  });

  it("apply asks the approval hook; a decline flips nothing and is audited", async () => {
    const asked: string[] = [];
    const { raise, flags, audit } = setup({
      mitigation: { mode: "apply", approve: ({ incident }) => (asked.push(incident.type), incident.type !== "TENANT_LEAK_RISK") },
    });
    const results = await raise({ failed_logins_1h: 500, cross_tenant_access_attempts_1h: 1 });
    expect(asked.sort()).toEqual(["FAILED_LOGINS_SPIKE", "TENANT_LEAK_RISK"]);
    const byType = Object.fromEntries(results.map((r) => [r.incident.type, r.mitigation?.status]));
    expect(byType).toEqual({ FAILED_LOGINS_SPIKE: "applied", TENANT_LEAK_RISK: "declined" });
    expect(flags.get("tenancy.quarantine", "acme")).toBeUndefined();
    expect(audit.actions()).toContain("INCIDENT_MITIGATION_DECLINED");
  });

  it("per-type modes override the default", async () => {
    const { raise, flags } = setup({ mitigation: { mode: "suggest", byType: { TENANT_LEAK_RISK: "apply" } } });
    await raise({ failed_logins_1h: 500, cross_tenant_access_attempts_1h: 1 });
    expect(flags.get("tenancy.quarantine", "acme")).toBe(true);
    expect(flags.get("auth.login.rate_limit_strict", "acme")).toBeUndefined();
  });

  it("a failing flag write puts back what was already flipped", async () => {
    const { raise, flags } = setup({ mitigation: { mode: "apply" } });
    await flags.setValue({ key: "auth.login.rate_limit_strict", value: "orig", tenantId: "acme", actor: "admin", reason: "x" });
    flags.failOn = "auth.mfa.step_up_on_risk";
    const [r] = await raise({ failed_logins_1h: 500 });
    expect(r!.mitigation?.status).toBe("failed");
    expect(flags.get("auth.login.rate_limit_strict", "acme")).toBe("orig");
    expect(flags.get("auth.login.captcha_on_risk", "acme")).toBeUndefined();
  });

  it("several instances: each incident is mitigated once", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    const stores = memoryStores({ clock });
    const flags = new MapFlagWriter();
    const rts = Array.from({ length: 6 }, (_, i) =>
      createOpsRuntime({ stores, clock, flags, instanceId: `i${i}`, mitigation: { mode: "apply" } }),
    );
    const [event] = deriveAuthIncidents({ cross_tenant_access_attempts_1h: 1 }, { tenantId: "acme", now: clock.now() });
    const results = await Promise.all(rts.map((rt) => rt.handle(event!)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(flags.changes.filter((c) => c.key === "tenancy.quarantine")).toHaveLength(1);
  });

  it("an instance dying mid-apply: another takes over after the lease and keeps the true previous values", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    const stores = memoryStores({ clock });
    const flags = new MapFlagWriter();
    await flags.setValue({ key: "auth.login.rate_limit_strict", value: "orig", tenantId: "acme", actor: "admin", reason: "x" });
    // Instance A hangs forever on its second flag write (a crashed process, as far as B can tell).
    const dying = {
      getValue: flags.getValue.bind(flags),
      setValue: (i: Parameters<MapFlagWriter["setValue"]>[0]) =>
        i.key === "auth.login.captcha_on_risk" ? new Promise<never>(() => {}) : flags.setValue(i),
    };
    const a = createOpsRuntime({ stores, clock, flags: dying, instanceId: "a", mitigation: { mode: "apply" } });
    const b = createOpsRuntime({ stores, clock, flags, instanceId: "b", mitigation: { mode: "apply" } });
    const [event] = deriveAuthIncidents({ failed_logins_1h: 500 }, { tenantId: "acme", now: clock.now() });
    void a.handle(event!);
    let incident;
    for (let i = 0; i < 1000; i++) {
      incident = (await stores.incidents.list({ tenantId: "acme" })).items[0];
      // A journals the flag it is about to flip before flipping it: it hangs with that record stored.
      if (incident && dataOf(incident).mitigation?.applied.some((x) => x.key === "auth.login.captcha_on_risk" && x.pending)) break;
      await new Promise((r) => setImmediate(r));
    }
    expect(dataOf(incident!).mitigation?.status).toBe("applying");
    expect(await b.tick().then((r) => r.errors)).toEqual([]);
    expect(dataOf((await stores.incidents.get({ tenantId: "acme", id: incident!.id }))!).mitigation?.status).toBe("applying"); // lease not over
    clock.advance(3 * MIN);
    await b.tick();
    const done = (await stores.incidents.get({ tenantId: "acme", id: incident!.id }))!;
    expect(dataOf(done).mitigation?.status).toBe("applied");
    expect(done.state).toBe("mitigated");
    expect(flags.get("auth.mfa.step_up_on_risk", "acme")).toBe(true);
    await b.rollback({ tenantId: "acme", id: done.id });
    expect(flags.get("auth.login.rate_limit_strict", "acme")).toBe("orig");
    expect(flags.get("auth.login.captcha_on_risk", "acme")).toBeUndefined();
  });

  it("rejects apply mode without a FlagWriter", () => {
    expect(() => createOpsRuntime({ stores: memoryStores(), mitigation: { mode: "apply" } })).toThrow(/flags/);
  });
});

describe("notifications: Alertmanager timers, grouping, silences, inhibition", () => {
  it("waits 30 s (group wait), batches a group, then 5 min (group interval), repeats after 4 h", async () => {
    const { runtime, raise, notifier, clock } = setup();
    await raise({ session_anomalies_1h: 9 });
    await runtime.tick();
    expect(notifier.sent).toHaveLength(0); // group_wait not over
    clock.advance(10 * S);
    await raise({ oauth_callback_errors_1h: 50 }); // same tenant: same group
    clock.advance(20 * S);
    await runtime.tick();
    expect(notifier.sent).toHaveLength(1);
    expect(notifier.sent[0]!.details?.incidents).toHaveLength(2);
    expect(notifier.sent[0]!.dedupeKey).toBe(groupDedupeKey("tenant=acme"));
    await runtime.tick();
    expect(notifier.sent).toHaveLength(1);

    await raise({ jwt_validation_errors_1h: 100 }); // new incident in a notified group
    clock.advance(4 * MIN);
    await runtime.tick();
    expect(notifier.sent).toHaveLength(1); // group_interval not over
    clock.advance(MIN);
    await runtime.tick();
    expect(notifier.sent).toHaveLength(2);

    clock.advance(3 * 3_600_000);
    await runtime.tick();
    expect(notifier.sent).toHaveLength(2);
    clock.advance(3_600_000);
    await runtime.tick();
    expect(notifier.sent).toHaveLength(3); // repeat_interval
    expect(notifier.sent[2]!.details?.incidents).toHaveLength(3);
  });

  it("sends once across instances, and again after a failed send (at-least-once)", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    const stores = memoryStores({ clock });
    const notifier = new CollectingNotifier();
    const rts = Array.from({ length: 4 }, () => createOpsRuntime({ stores, clock, notifier }));
    await rts[0]!.handle(deriveAuthIncidents({ session_anomalies_1h: 9 }, { tenantId: "acme", now: clock.now() })[0]!);
    clock.advance(31 * S);
    notifier.failNext = 1;
    // The claim and its notification commit together (stores.effects): the failed send stays in
    // the outbox and the relay of any instance resends it once its backoff has passed.
    const first = await rts[0]!.tick();
    expect(first.errors).toHaveLength(0);
    expect(notifier.sent).toHaveLength(0);
    expect(await stores.effects.pending()).toBe(1);
    clock.advance(5 * S);
    await Promise.all(rts.map((rt) => rt.tick()));
    expect(notifier.sent).toHaveLength(1);
    expect(await stores.effects.pending()).toBe(0);
    await Promise.all(rts.map((rt) => rt.tick()));
    expect(notifier.sent).toHaveLength(1);
  });

  it("acknowledging, then resolving the last incident of a group sends acknowledge and resolve", async () => {
    const { runtime, raise, notifier, clock } = setup();
    const [r] = await raise({ session_anomalies_1h: 9 });
    clock.advance(31 * S);
    await runtime.tick();
    await runtime.acknowledge({ tenantId: "acme", id: r!.incident.id, actor: "alice" });
    await runtime.resolve({ tenantId: "acme", id: r!.incident.id, actor: "alice" });
    expect(notifier.sent.map((n) => n.action)).toEqual(["trigger", "acknowledge", "resolve"]);
    expect(notifier.sent[1]!.dedupeKey).toBe(notifier.sent[0]!.dedupeKey);
  });

  it("silences mute matching incidents until they expire", async () => {
    const { runtime, raise, notifier, clock } = setup();
    const s = await runtime.silences.add({
      matcher: { types: ["SESSION_ANOMALIES"], tenantIds: ["acme"] },
      endsAt: new Date(clock.now() + 10 * MIN).toISOString(),
      createdBy: "alice",
      comment: "pen test",
    });
    await raise({ session_anomalies_1h: 9 });
    clock.advance(31 * S);
    const r = await runtime.tick();
    expect(r.notifications.silenced).toBe(1);
    expect(notifier.sent).toHaveLength(0);
    clock.advance(10 * MIN);
    await runtime.tick();
    expect(notifier.sent).toHaveLength(1);
    expect(await runtime.silences.list()).toEqual([]);
    expect(await runtime.silences.expire(s.id)).toBe(false);
    await expect(runtime.silences.add({ matcher: {}, endsAt: "soon", createdBy: "", comment: "x" })).rejects.toThrow(/endsAt|createdBy/);
  });

  it("a global incident inhibits the per-tenant ones of its type", async () => {
    const { runtime, raise, notifier, clock } = setup();
    await raise({ session_anomalies_1h: 9 }, "acme");
    await raise({ session_anomalies_1h: 9 }, "globex");
    await raise({ session_anomalies_1h: 90 }, null);
    clock.advance(31 * S);
    const r = await runtime.tick();
    expect(r.notifications.inhibited).toBe(2);
    expect(notifier.sent).toHaveLength(1);
    expect(notifier.sent[0]!.tenantId ?? null).toBeNull();
  });
});

describe("runtime options and shutdown", () => {
  it("rejects bad options with the field named", () => {
    const stores = memoryStores();
    expect(() => createOpsRuntime({ stores, intervalMs: -1 })).toThrow(/intervalMs/);
    expect(() => createOpsRuntime({ stores, mitigation: { mode: "yolo" as "off" } })).toThrow(/mitigation\.mode/);
    expect(() => createOpsRuntime({ stores, timers: { groupWaitMs: 0 } })).toThrow(/groupWaitMs/);
    expect(() => createOpsRuntime({ stores: {} as never })).toThrow(/stores/);
  });

  it("stop() flushes what was recorded after start()", async () => {
    const stores = memoryStores();
    const runtime = createOpsRuntime({ stores, intervalMs: 3_600_000 });
    runtime.start();
    runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "u1" });
    await runtime.stop();
    expect((await stores.authEvents.list({ tenantId: "acme" })).items.map((e) => e.userId)).toEqual(["u1"]);
  });

  it("prunes auth events past their retention", async () => {
    const { runtime, stores, clock } = setup({ eventRetentionMs: 86_400_000 });
    runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", occurredAt: clock.now() - 2 * 86_400_000 });
    runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "recent" });
    await runtime.tick();
    expect((await stores.authEvents.list({ tenantId: "acme" })).items.map((e) => e.userId)).toEqual(["recent"]);
  });

  it("never acts on another tenant's incident", async () => {
    const { runtime, raise, flags } = setup({ mitigation: { mode: "apply" } });
    const [r] = await raise({ failed_logins_1h: 500 });
    await expect(runtime.rollback({ tenantId: "globex", id: r!.incident.id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(runtime.resolve({ tenantId: "globex", id: r!.incident.id, actor: "mallory" })).rejects.toBeInstanceOf(NotFoundError);
    expect(flags.get("auth.login.rate_limit_strict", "acme")).toBe(true);
    expect(flags.get("auth.login.rate_limit_strict", "globex")).toBeUndefined();
  });
});
