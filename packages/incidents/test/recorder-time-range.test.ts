import { describe, expect, it } from "vitest";
import { MemoryAuthEventStore, MemoryCounterStore } from "@ops/adapter-memory";
import { ManualClock, ValidationError } from "@ops/core";
import { createSignalRecorder } from "../src/index.js";

describe("recordAuthEvent occurredAt outside the Date range", () => {
  it("throws a ValidationError naming occurredAt, and the next flush keeps the good events", async () => {
    const clock = new ManualClock("2026-11-26T10:00:05.000Z");
    const authEvents = new MemoryAuthEventStore({ clock });
    const rec = createSignalRecorder({ counters: new MemoryCounterStore({ clock }), authEvents, clock });
    rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "u1" });
    // Nanoseconds instead of milliseconds: finite, but no Date.
    expect(() => rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", occurredAt: 1.7e18 })).toThrow(ValidationError);
    expect(() => rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", occurredAt: 1.7e18 })).toThrow(/occurredAt/);
    expect(rec.stats()).toMatchObject({ recorded: 1, buffered: 1 });
    await rec.flush();
    expect((await authEvents.list({ tenantId: "acme" })).items).toHaveLength(1);
  });
});
