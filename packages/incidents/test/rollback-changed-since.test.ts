import { describe, expect, it } from "vitest";
import { ManualClock } from "@ops/core";
import { memoryStores } from "@ops/adapter-memory";
import { createOpsRuntime } from "../src/index.js";
import { dataOf } from "../src/incident-data.js";
import { CollectingAuditSink, MapFlagWriter } from "./ports.js";

describe("rollback after someone changed a mitigated flag", () => {
  it("restores the untouched flags and leaves the changed one as the person set it, audited", async () => {
    const clock = new ManualClock("2026-11-26T10:00:20.000Z");
    const stores = memoryStores({ clock });
    const flags = new MapFlagWriter();
    const audit = new CollectingAuditSink();
    const runtime = createOpsRuntime({ stores, clock, flags, audit, mitigation: { mode: "apply" } });
    for (let i = 0; i < 10; i++) runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "alice", ip: "203.0.113.7" });
    const [incident] = (await runtime.tick()).raised;
    const applied = dataOf((await stores.incidents.get({ tenantId: "acme", id: incident!.id }))!).mitigation!.applied;
    expect(applied.length).toBeGreaterThan(1);

    // On-call decides to keep the first mitigated flag on, with a value of their own.
    const [mine, ...others] = applied;
    await flags.setValue({ key: mine!.key, value: "kept-by-oncall", tenantId: mine!.tenantId, actor: "oncall", reason: "keep it" });

    const restored = await runtime.rollback({ tenantId: "acme", id: incident!.id, actor: "oncall" });
    expect(flags.get(mine!.key, mine!.tenantId)).toBe("kept-by-oncall");
    for (const a of others) expect(flags.get(a.key, a.tenantId)).toEqual(a.hadPrevious ? a.previous : undefined);
    expect(restored.map((a) => a.key).sort()).toEqual(others.map((a) => a.key).sort());
    const entry = audit.entries.find((e) => e.action === "INCIDENT_ROLLED_BACK");
    expect(entry?.reason).toMatch(/left 1 changed since the mitigation/);
    expect(JSON.stringify(entry?.meta)).toContain("kept-by-oncall");
    await runtime.stop();
  });
});
