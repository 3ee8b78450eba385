import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { ManualClock } from "@ops/core";
import { createOpsRuntime, deriveAuthIncidents, groupDedupeKey } from "../src/index.js";
import { CollectingNotifier } from "./ports.js";

describe("resolving a notified group", () => {
  it("sends the resolve when the group's last incident joined after the group was notified and resolves before its own notification", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    const stores = memoryStores({ clock });
    const notifier = new CollectingNotifier();
    const runtime = createOpsRuntime({ stores, clock, notifier, mitigation: { mode: "off" } });
    const raise = async (metrics: Record<string, number>) =>
      (await runtime.handle(deriveAuthIncidents(metrics, { tenantId: "acme", now: clock.now() })[0]!)).incident;
    const x = await raise({ session_anomalies_1h: 9 });
    clock.advance(31_000);
    await runtime.tick();
    expect(notifier.sent.map((n) => n.action)).toEqual(["trigger"]);
    clock.advance(60_000);
    const y = await raise({ failed_logins_1h: 500 }); // same group (tenant acme), within the group interval
    await runtime.tick();
    expect(notifier.sent).toHaveLength(1); // y waits for the group interval
    await runtime.resolve({ tenantId: "acme", id: x.id, actor: "alice" });
    expect(notifier.sent).toHaveLength(1); // y is still active in the group
    await runtime.resolve({ tenantId: "acme", id: y.id, actor: "alice" });
    expect(notifier.sent.map((n) => n.action)).toEqual(["trigger", "resolve"]);
    expect(notifier.sent[1]!.dedupeKey).toBe(notifier.sent[0]!.dedupeKey);
    expect(notifier.sent[1]!.dedupeKey).toBe(groupDedupeKey("tenant=acme"));
  });

  it("sends the acknowledge once every member is acknowledged, even one that joined after the group was notified", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    const stores = memoryStores({ clock });
    const notifier = new CollectingNotifier();
    const runtime = createOpsRuntime({ stores, clock, notifier, mitigation: { mode: "off" } });
    const raise = async (metrics: Record<string, number>) =>
      (await runtime.handle(deriveAuthIncidents(metrics, { tenantId: "acme", now: clock.now() })[0]!)).incident;
    const x = await raise({ session_anomalies_1h: 9 });
    clock.advance(31_000);
    await runtime.tick();
    clock.advance(60_000);
    const y = await raise({ failed_logins_1h: 500 });
    await runtime.acknowledge({ tenantId: "acme", id: x.id, actor: "alice" });
    expect(notifier.sent.map((n) => n.action)).toEqual(["trigger"]); // y is still open
    await runtime.acknowledge({ tenantId: "acme", id: y.id, actor: "alice" });
    expect(notifier.sent.map((n) => n.action)).toEqual(["trigger", "acknowledge"]);
  });

  it("still sends no resolve for a group that was never notified", async () => {
    const clock = new ManualClock("2026-11-26T10:00:00.000Z");
    const stores = memoryStores({ clock });
    const notifier = new CollectingNotifier();
    const runtime = createOpsRuntime({ stores, clock, notifier, mitigation: { mode: "off" } });
    const [e] = deriveAuthIncidents({ session_anomalies_1h: 9 }, { tenantId: "acme", now: clock.now() });
    const { incident } = await runtime.handle(e!);
    await runtime.resolve({ tenantId: "acme", id: incident.id, actor: "alice" });
    expect(notifier.sent).toEqual([]);
  });
});
