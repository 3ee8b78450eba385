import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { ManualClock } from "@ops/core";
import { createOpsRuntime, deriveAuthIncidents } from "../src/index.js";
import { dataOf } from "../src/incident-data.js";
import { CollectingAuditSink, MapFlagWriter } from "./ports.js";

function setup(policy: { tenantIncidentsMayChangeGlobalFlags?: boolean } = {}) {
  const clock = new ManualClock("2026-12-03T10:00:00.000Z");
  const stores = memoryStores({ clock });
  const flags = new MapFlagWriter();
  const runtime = createOpsRuntime({ stores, clock, flags, audit: new CollectingAuditSink(), mitigation: { mode: "apply", ...policy } });
  return { clock, stores, flags, runtime };
}

describe("a tenant's incident and global flags", () => {
  it("never flips a global flag: the global recommendations stay suggestions (cross-tenant attempts posted by one tenant)", async () => {
    const { clock, stores, flags, runtime } = setup();
    const [event] = deriveAuthIncidents({ cross_tenant_access_attempts_1h: 50 }, { tenantId: "acme", now: clock.now() });
    const { incident, mitigation } = await runtime.handle(event!);
    const recommended = dataOf(incident).response.recommended_flags;
    expect(recommended.some((f) => f.scope === "global")).toBe(true);
    expect(flags.changes.filter((c) => c.tenantId === null)).toEqual([]);
    // Only tenant flags (if any) were applied; with none, it stays a suggestion.
    const tenantOnes = recommended.filter((f) => f.scope === "tenant");
    expect(mitigation?.status).toBe(tenantOnes.length > 0 ? "applied" : "suggested");
    const stored = dataOf((await stores.incidents.get({ tenantId: "acme", id: incident.id }))!);
    expect(stored.mitigation?.flags.some((f) => f.tenantId === null)).toBe(true);
    expect(stored.mitigation?.applied.every((a) => a.tenantId === "acme")).toBe(true);
    // Applying it by hand as the tenant does not change global flags either.
    if (tenantOnes.length === 0)
      await expect(runtime.applyMitigation({ tenantId: "acme", id: incident.id, actor: "tenant-admin" })).rejects.toThrow(/global/);
    expect(flags.changes.filter((c) => c.tenantId === null)).toEqual([]);
  });

  it("applies only the tenant-scoped flags when an incident recommends both", async () => {
    const { clock, flags, runtime } = setup();
    const [event] = deriveAuthIncidents(
      { jwt_validation_errors_1h: 500, jwt_validations_1h: 1000, jwt_invalid_signature_1h: 200 },
      { tenantId: "acme", now: clock.now() },
    );
    if (!event) return expect.unreachable("no JWT incident derived");
    const { incident } = await runtime.handle(event);
    const recommended = dataOf(incident).response.recommended_flags;
    expect(recommended.some((f) => f.scope === "global")).toBe(true);
    expect(flags.changes.filter((c) => c.tenantId === null)).toEqual([]);
    expect(flags.changes.map((c) => c.key).sort()).toEqual(
      recommended
        .filter((f) => f.scope === "tenant")
        .map((f) => f.key)
        .sort(),
    );
  });

  it("a global incident still applies its global flags, and an app policy can allow tenant incidents to", async () => {
    const a = setup();
    const [global] = deriveAuthIncidents({ cross_tenant_access_attempts_1h: 50 }, { tenantId: null, now: a.clock.now() });
    const r1 = await a.runtime.handle(global!);
    expect(r1.mitigation?.status).toBe("applied");
    expect(a.flags.changes.some((c) => c.key === "tenancy.strict_guard" && c.tenantId === null)).toBe(true);

    const b = setup({ tenantIncidentsMayChangeGlobalFlags: true });
    const [tenant] = deriveAuthIncidents({ cross_tenant_access_attempts_1h: 50 }, { tenantId: "acme", now: b.clock.now() });
    await b.runtime.handle(tenant!);
    expect(b.flags.changes.some((c) => c.key === "tenancy.strict_guard" && c.tenantId === null)).toBe(true);
  });
});
