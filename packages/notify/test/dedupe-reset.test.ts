import { describe, expect, it } from "vitest";
import { ManualClock } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, logChannel } from "../src/index.js";

function setup() {
  const clock = new ManualClock("2030-01-01T12:00:00.000Z");
  const store = new MemoryOutboxStore();
  const notifier = createNotifier({ store, channels: [logChannel({ write: () => {} })], clock, dedupeWindowMs: 4 * 3_600_000 });
  const send = async (action: "trigger" | "resolve" | "acknowledge") => {
    clock.advance(60_000);
    const r = await notifier.enqueue({ subject: "db down", body: "b", severity: "critical", tenantId: "acme", dedupeKey: "inc_1", action });
    return r.messages.map((m) => m.duplicate);
  };
  return { send };
}

describe("dedupe window and the opposite action", () => {
  it("trigger -> resolve -> trigger inside the window pages again; repeats of the last action stay deduped", async () => {
    const { send } = setup();
    expect(await send("trigger")).toEqual([false]);
    expect(await send("trigger")).toEqual([true]);
    expect(await send("resolve")).toEqual([false]);
    expect(await send("resolve")).toEqual([true]);
    expect(await send("trigger")).toEqual([false]); // the incident re-opened: someone is paged
    expect(await send("trigger")).toEqual([true]);
    expect(await send("acknowledge")).toEqual([false]);
    expect(await send("resolve")).toEqual([false]);
  });

  it("two processes racing on the same re-trigger enqueue it once", async () => {
    const clock = new ManualClock("2030-01-01T12:00:00.000Z");
    const store = new MemoryOutboxStore();
    const mk = () => createNotifier({ store, channels: [logChannel({ write: () => {} })], clock, dedupeWindowMs: 3_600_000 });
    const [a, b] = [mk(), mk()];
    const n = { subject: "s", body: "b", severity: "high" as const, dedupeKey: "k" };
    await a.enqueue({ ...n, action: "trigger" });
    await a.enqueue({ ...n, action: "resolve" });
    const [ra, rb] = await Promise.all([a.enqueue({ ...n, action: "trigger" }), b.enqueue({ ...n, action: "trigger" })]);
    expect([ra.messages[0]!.duplicate, rb.messages[0]!.duplicate].sort()).toEqual([false, true]);
  });
  it("a chain that began in the previous window bucket still dedupes a repeat of its recent last action", async () => {
    const windowMs = 4 * 3_600_000;
    // One minute into a window bucket: the chain's root is there, its latest trigger near its end.
    const clock = new ManualClock(new Date(Math.ceil(Date.parse("2030-01-01T12:00:00.000Z") / windowMs) * windowMs + 60_000).toISOString());
    const store = new MemoryOutboxStore();
    const notifier = createNotifier({ store, channels: [logChannel({ write: () => {} })], clock, dedupeWindowMs: windowMs });
    const send = async (action: "trigger" | "resolve") =>
      (
        await notifier.enqueue({ subject: "db down", body: "b", severity: "critical", tenantId: "acme", dedupeKey: "inc_2", action })
      ).messages.map((m) => m.duplicate);
    expect(await send("trigger")).toEqual([false]);
    clock.advance(3.5 * 3_600_000);
    expect(await send("resolve")).toEqual([false]);
    clock.advance(0.1 * 3_600_000);
    expect(await send("trigger")).toEqual([false]);
    // Next bucket; the root is older than the window, the last trigger 30 minutes old.
    clock.advance(0.5 * 3_600_000);
    expect(await send("trigger")).toEqual([true]);
  });
});
