import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { ManualClock } from "@ops/core";
import { createOpsRuntime, deriveAuthIncidents } from "../src/index.js";
import { CollectingNotifier } from "./ports.js";

describe("a notification that fails for one group", () => {
  it("does not hold back the other groups of the same tick; the failed one is retried next tick", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    // Without stores.effects: the inline path (notify after the claim, release on failure).
    const { effects: _outbox, ...stores } = memoryStores({ clock });
    const notifier = new CollectingNotifier();
    const runtime = createOpsRuntime({ stores, clock, notifier, mitigation: { mode: "off" } });
    for (const tenantId of ["acme", "globex"])
      await runtime.handle(deriveAuthIncidents({ session_anomalies_1h: 9 }, { tenantId, now: clock.now() })[0]!);
    clock.advance(31_000);
    notifier.failNext = 1;
    const report = await runtime.tick();
    expect(report.errors).toHaveLength(1);
    expect(report.notifications.sent).toBe(1);
    expect(notifier.sent).toHaveLength(1);
    clock.advance(15_000);
    await runtime.tick();
    expect(notifier.sent.map((n) => n.tenantId).sort()).toEqual(["acme", "globex"]);
  });
  it("names the notify step in failedSteps when a group's notification failed (errors alone read as a clean tick)", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    // Without stores.effects: the inline path (notify after the claim, release on failure).
    const { effects: _outbox, ...stores } = memoryStores({ clock });
    const notifier = new CollectingNotifier();
    const runtime = createOpsRuntime({ stores, clock, notifier, mitigation: { mode: "off" } });
    await runtime.handle(deriveAuthIncidents({ session_anomalies_1h: 9 }, { tenantId: "acme", now: clock.now() })[0]!);
    clock.advance(31_000);
    notifier.failNext = 1;
    const report = await runtime.tick();
    expect(notifier.sent).toHaveLength(0);
    expect(report.errors).toHaveLength(1);
    expect(report.failedSteps).toEqual(["notify"]);
  });
  it("reports a claim that could not be put back after a failed notification (it would otherwise wait a whole repeat interval, silently)", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    // Without stores.effects: the inline path (notify after the claim, release on failure).
    const { effects: _outbox, ...stores } = memoryStores({ clock });
    const notifier = new CollectingNotifier();
    const runtime = createOpsRuntime({ stores, clock, notifier, mitigation: { mode: "off" } });
    await runtime.handle(deriveAuthIncidents({ session_anomalies_1h: 9 }, { tenantId: "acme", now: clock.now() })[0]!);
    clock.advance(31_000);
    let blip = false;
    const notify = notifier.notify.bind(notifier);
    notifier.notify = async (n) => {
      notifier.failNext = 1;
      blip = true;
      return notify(n);
    };
    const update = stores.incidents.update.bind(stores.incidents);
    stores.incidents.update = async (q) => {
      if (blip) {
        blip = false;
        throw new Error("incident store blip");
      }
      return update(q);
    };
    const report = await runtime.tick();
    expect(notifier.sent).toHaveLength(0);
    expect(report.errors.map((e) => (e as Error).message)).toEqual(["channel down", "incident store blip"]);
    expect(report.failedSteps).toEqual(["notify"]);
  });
});
