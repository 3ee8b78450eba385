import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { ManualClock, NotFoundError, type AuditSinkEntry } from "@ops/core";
import { FeatureFlagController, defineFlags } from "@ops/flags";

describe("scheduled changes", () => {
  it("apply at their time, exactly once across controllers, audited as the scheduler's actor", async () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    const store = new MemoryFlagStore({ clock });
    const entries: AuditSinkEntry[] = [];
    const audit = { record: async (e: AuditSinkEntry) => void entries.push(e) };
    const a = new FeatureFlagController(store, "prod", { clock, audit, pollIntervalMs: 0 });
    const b = new FeatureFlagController(store, "prod", { clock, audit, pollIntervalMs: 0 });
    await Promise.all([a.ready(), b.ready()]);
    await a.setFlag({ key: "sale", newValue: false, actorUserId: "pm", reason: "prepare" });
    const id = await a.scheduleChange({
      key: "sale",
      at: "2026-01-02T00:00:00Z",
      patch: { value: true },
      actorUserId: "pm",
      reason: "sale starts",
    });
    await a.scheduleChange({ key: "sale", at: "2026-01-03T00:00:00Z", patch: { enabled: false }, actorUserId: "pm", reason: "sale ends" });
    expect(await a.applyDueChanges()).toBe(0);
    expect(a.isEnabled("sale")).toBe(false);
    clock.set("2026-01-02T00:00:01Z");
    await b.refresh();
    const [na, nb] = await Promise.all([a.applyDueChanges(), b.applyDueChanges()]);
    expect(na + nb).toBe(1);
    await a.refresh();
    expect(a.isEnabled("sale")).toBe(true);
    expect(a.getFlag("sale")?.config.schedule?.map((s) => s.reason)).toEqual(["sale ends"]);
    const applied = entries.filter((e) => (e.meta as { operation: string }).operation === "scheduled-apply");
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({
      actor: { id: "pm", type: "system" },
      reason: "scheduled: sale starts",
      meta: { scheduledChangeId: id },
    });
    clock.set("2026-01-03T00:00:01Z");
    expect(await a.applyDueChanges()).toBe(1);
    expect(a.evaluate("sale").reason).toBe("DISABLED");
  });

  it("can be cancelled; bad patches are rejected when scheduled", async () => {
    const c = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0 });
    await c.setFlag({ key: "f", newValue: false, actorUserId: "a", reason: "r" });
    const id = await c.scheduleChange({
      key: "f",
      at: new Date(Date.now() + 3_600_000),
      patch: { value: true },
      actorUserId: "a",
      reason: "later",
    });
    await c.cancelScheduledChange({ key: "f", id, actorUserId: "a", reason: "changed my mind" });
    await expect(c.cancelScheduledChange({ key: "f", id, actorUserId: "a", reason: "again" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(c.scheduleChange({ key: "f", at: "tomorrow", patch: { value: true }, actorUserId: "a", reason: "r" })).rejects.toThrow(
      /at/,
    );
    await expect(c.scheduleChange({ key: "f", at: new Date(), patch: { value: "x" }, actorUserId: "a", reason: "r" })).rejects.toThrow(
      /boolean/,
    );
    expect(c.getFlag("f")?.config.schedule).toEqual([]);
    await c.close();
  });
});

describe("staleFlags", () => {
  it("reports expired flags and flags unchanged and unevaluated for N days", async () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    const store = new MemoryFlagStore({ clock });
    const c = new FeatureFlagController(store, "prod", {
      clock,
      pollIntervalMs: 0,
      definitions: defineFlags({
        temp: { type: "boolean", default: false, expiresAt: "2026-02-01T00:00:00Z", owner: "growth" },
        used: { type: "boolean", default: false },
        idle: { type: "boolean", default: false },
      }),
    });
    await c.setFlag({ key: "used", newValue: true, actorUserId: "a", reason: "r" });
    await c.setFlag({ key: "idle", newValue: true, actorUserId: "a", reason: "r" });
    expect(c.staleFlags()).toEqual([]);
    clock.set("2026-01-20T00:00:00Z");
    c.isEnabled("used");
    c.staleFlags(); // samples usage at this time
    clock.set("2026-02-05T00:00:00Z");
    const stale = c.staleFlags({ unusedForDays: 30 });
    expect(stale.map((s) => [s.key, s.reasons])).toEqual([
      ["idle", ["unused"]],
      ["temp", ["expired", "unused"]],
    ]);
    expect(stale[1]).toMatchObject({ owner: "growth", expiresAt: "2026-02-01T00:00:00Z", lastEvaluatedAt: null });
    expect(c.staleFlags({ unusedForDays: 60 }).map((s) => s.key)).toEqual(["temp"]);
  });

  it("shares usage across processes and restarts through the $stats record", async () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    const store = new MemoryFlagStore({ clock });
    const who = { actorUserId: "a", reason: "r" };
    const first = new FeatureFlagController(store, "prod", { clock, pollIntervalMs: 0 });
    await first.setFlag({ key: "kept", newValue: true, ...who });
    await first.setFlag({ key: "dropped", newValue: true, ...who });
    clock.set("2026-03-01T00:00:00Z");
    first.isEnabled("kept");
    await first.close(); // flushes usage
    // A process started today, long after the flags were last changed.
    clock.set("2026-03-10T00:00:00Z");
    const second = new FeatureFlagController(store, "prod", { clock, pollIntervalMs: 0 });
    await second.ready();
    expect(second.staleFlags({ unusedForDays: 30 }).map((s) => s.key)).toEqual(["dropped"]);
    expect(second.staleFlags({ unusedForDays: 5 }).map((s) => s.key)).toEqual(["dropped", "kept"]);
    expect(second.keys()).not.toContain("$stats");
  });
});
