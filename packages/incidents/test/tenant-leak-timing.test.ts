import { describe, expect, it } from "vitest";
import { ManualClock } from "@ops/core";
import { memoryStores } from "@ops/adapter-memory";
import { createOpsRuntime } from "../src/index.js";

describe("single-bucket count rules (TENANT_LEAK_RISK, admin login failures)", () => {
  it("raise TENANT_LEAK_RISK at the next tick after the first CROSS_TENANT_ACCESS, not after the bucket ends", async () => {
    const clock = new ManualClock("2026-11-26T10:00:05.000Z");
    const stores = memoryStores({ clock });
    const runtime = createOpsRuntime({ stores, clock, mitigation: { mode: "off" } });
    runtime.recordAuthEvent({ type: "CROSS_TENANT_ACCESS", tenantId: "acme", userId: "mallory" });
    clock.advance(15_000); // 10:00:20, the bucket is still running
    const report = await runtime.tick();
    expect(report.raised.map((r) => [r.type, r.tenantId])).toEqual([["TENANT_LEAK_RISK", "acme"]]);

    // Later ticks, in the same bucket and once it is complete, see the same window: one incident.
    clock.advance(15_000);
    expect((await runtime.tick()).raised).toHaveLength(0);
    clock.advance(60_000);
    expect((await runtime.tick()).raised).toHaveLength(0);
    expect((await stores.incidents.list({ tenantId: "acme" })).items).toHaveLength(1);
    expect((await stores.incidents.list({ tenantId: null })).items).toHaveLength(0);
    await runtime.stop();
  });

  it("do not fire early below the floor (4 admin login failures from different IPs)", async () => {
    const clock = new ManualClock("2026-11-26T10:00:05.000Z");
    const stores = memoryStores({ clock });
    const runtime = createOpsRuntime({ stores, clock, mitigation: { mode: "off" } });
    for (let i = 0; i < 4; i++) runtime.recordAuthEvent({ type: "ADMIN_LOGIN_FAILED", tenantId: "acme", ip: `203.0.113.${i}` });
    clock.advance(15_000);
    expect((await runtime.tick()).raised).toHaveLength(0);
    runtime.recordAuthEvent({ type: "ADMIN_LOGIN_FAILED", tenantId: "acme", ip: "203.0.113.9" });
    clock.advance(5_000);
    expect((await runtime.tick()).raised.map((r) => r.type)).toEqual(["SUSPICIOUS_ADMIN_LOGIN"]);
    await runtime.stop();
  });
});
