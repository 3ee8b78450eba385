import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { ManualClock } from "@ops/core";
import { createOpsRuntime, deriveAuthIncidents } from "../src/index.js";
import { dataOf } from "../src/incident-data.js";
import { CollectingAuditSink, MapFlagWriter } from "./ports.js";

describe("an approval hook that throws", () => {
  it("declines (flips nothing, audited with the reason) instead of failing handle() and leaving the mitigation awaiting approval", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    const stores = memoryStores({ clock });
    const flags = new MapFlagWriter();
    const audit = new CollectingAuditSink();
    const runtime = createOpsRuntime({
      stores,
      clock,
      flags,
      audit,
      mitigation: {
        mode: "apply",
        approve: () => {
          throw new Error("approval service unreachable");
        },
      },
    });
    const [event] = deriveAuthIncidents({ session_anomalies_1h: 9 }, { tenantId: "acme", now: clock.now() });
    const { incident, created, mitigation } = await runtime.handle(event!);
    expect(created).toBe(true);
    expect(mitigation?.status).toBe("declined");
    expect(flags.changes).toEqual([]);
    const stored = await stores.incidents.get({ tenantId: "acme", id: incident.id });
    expect(dataOf(stored!).mitigation?.status).toBe("declined");
    const declined = audit.entries.find((e) => e.action === "INCIDENT_MITIGATION_DECLINED");
    expect(declined?.reason).toMatch(/approval hook failed: approval service unreachable/);
    // A human can still apply it.
    expect((await runtime.applyMitigation({ tenantId: "acme", id: incident.id, actor: "alice" })).status).toBe("applied");
  });
});
