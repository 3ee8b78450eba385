import { describe, expect, it } from "vitest";
import { ManualClock } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, createOutboxWorker, logChannel } from "../src/index.js";

describe("tenantId: null (a global incident, as @ops/core's TenantKey allows)", () => {
  it("is accepted by the Notifier port and delivered without a tenant", async () => {
    const clock = new ManualClock("2030-01-01T12:00:00.000Z");
    const store = new MemoryOutboxStore();
    const lines: string[] = [];
    const channels = [logChannel({ write: (l) => lines.push(l) })];
    const notifier = createNotifier({ store, channels, clock });
    // What @ops/incidents sends for a global incident group.
    await notifier.notify({
      subject: "[high] Failed logins spike",
      body: "spread over tenants",
      severity: "high",
      tenantId: null,
      dedupeKey: "grp_1",
    });
    const page = await store.list({});
    expect(page.items).toHaveLength(1);
    expect(page.items[0]!.tenantId).toBeNull();
    expect((await createOutboxWorker({ store, channels, clock }).runOnce()).delivered).toBe(1);
    expect(lines).toHaveLength(1);
    // Still one per dedupe window, and resolvable.
    await notifier.notify({ subject: "again", body: "x", severity: "high", tenantId: null, dedupeKey: "grp_1" });
    await notifier.notify({ subject: "Resolved", body: "x", severity: "high", tenantId: null, dedupeKey: "grp_1", action: "resolve" });
    expect((await store.list({})).items).toHaveLength(2);
  });
});
