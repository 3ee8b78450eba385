import { describe, expect, it } from "vitest";
import { ManualClock } from "@ops/core";
import { memoryStores } from "@ops/adapter-memory";
import { createOpsRuntime } from "../src/index.js";

describe("identity-threshold crossings", () => {
  it("raise their incident at the next tick, inside the same minute, not after the bucket ends", async () => {
    // 10:00:20 — a third of the way into the current one-minute bucket.
    const clock = new ManualClock("2026-11-26T10:00:20.000Z");
    const stores = memoryStores({ clock });
    const runtime = createOpsRuntime({ stores, clock, mitigation: { mode: "off" } });
    for (let i = 0; i < 9; i++) runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "alice", ip: "203.0.113.7" });
    await runtime.recorder.flush();
    expect((await runtime.tick()).raised).toHaveLength(0); // 9 < Auth0's 10 per user+IP

    clock.advance(5_000);
    runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "alice", ip: "203.0.113.7" });
    const report = await runtime.tick(); // still 10:00:25: the bucket is not complete
    expect(report.raised.map((r) => [r.type, r.tenantId])).toEqual([["FAILED_LOGINS_SPIKE", "acme"]]);

    // The next minute sees the same crossing in a complete bucket: still one incident.
    clock.advance(60_000);
    expect((await runtime.tick()).raised).toHaveLength(0);
    const page = await stores.incidents.list({ tenantId: "acme" });
    expect(page.items).toHaveLength(1);
    await runtime.stop();
  });
});

describe("identity-threshold incidents raised mid-bucket", () => {
  it("carry the crossing in their snapshot and offenders, and are not raised again after a manual resolve", async () => {
    const clock = new ManualClock("2026-11-26T10:00:20.000Z");
    const stores = memoryStores({ clock });
    const runtime = createOpsRuntime({ stores, clock, mitigation: { mode: "off" } });
    for (let i = 0; i < 12; i++) runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "alice", ip: "203.0.113.7" });
    const [incident] = (await runtime.tick()).raised;
    expect(incident?.type).toBe("FAILED_LOGINS_SPIKE");
    const snapshot = (incident!.data as { event: { metrics_snapshot: Record<string, unknown> } }).event.metrics_snapshot;
    expect(snapshot.failed_logins_1h).toBe(12);
    expect(snapshot.identities).toEqual([expect.objectContaining({ userId: "alice", ip: "203.0.113.7" })]);

    await runtime.resolve({ tenantId: "acme", id: incident!.id, actor: "oncall", reason: "blocked at the WAF" });
    for (const step of [10_000, 60_000, 60_000]) {
      clock.advance(step); // the crossing stays in the detection window for a few buckets
      expect((await runtime.tick()).raised).toHaveLength(0);
    }
    expect((await stores.incidents.list({ tenantId: "acme" })).items).toHaveLength(1);
    await runtime.stop();
  });
});
