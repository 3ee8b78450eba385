import { describe, expect, it } from "vitest";
import { MemoryAuthEventStore, MemoryCounterStore } from "@ops/adapter-memory";
import { ManualClock, UnavailableError, type CounterStore } from "@ops/core";
import { breachKey, createSignalRecorder, eventKey, THRESHOLD_EVENT } from "../src/index.js";

const MIN = 60_000;

/** A counter store that is unreachable while `down` (every call rejects with UnavailableError). */
function flakyCounters(inner: CounterStore): { store: CounterStore; set(down: boolean): void } {
  let down = true;
  const gate =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> =>
      down ? Promise.reject(new UnavailableError("[test] counters unreachable")) : fn(...a);
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" && prop !== "close" ? gate(v.bind(target)) : v;
    },
  });
  return { store, set: (d) => void (down = d) };
}

describe("the recorder across a counter-store outage", () => {
  it("keeps identity counts of a failed flush: a spike recorded while the store was down crosses its threshold after recovery", async () => {
    const clock = new ManualClock("2026-11-26T10:00:05.000Z");
    const inner = new MemoryCounterStore({ clock });
    const counters = flakyCounters(inner);
    const authEvents = new MemoryAuthEventStore({ clock });
    const rec = createSignalRecorder({ counters: counters.store, authEvents, clock });
    // 15 failed logins of one user and IP (the rule's threshold is 10), over three failed flushes.
    for (let f = 0; f < 3; f++) {
      for (let i = 0; i < 5; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "u1", ip: "203.0.113.9" });
      await expect(rec.flush()).rejects.toBeInstanceOf(UnavailableError);
      clock.advance(1_000);
    }
    counters.set(false);
    await rec.flush();
    const window = { tenantId: "acme", bucketMs: MIN, fromMs: clock.now() - 10 * MIN, toMs: clock.now() + MIN } as const;
    expect(await inner.sum({ ...window, key: eventKey("LOGIN_FAILED") })).toBe(15);
    // The identity crossing happened once the counts landed: a breach and its THRESHOLD_EXCEEDED event.
    expect(await inner.sum({ ...window, key: breachKey("FAILED_LOGINS_SPIKE") })).toBe(1);
    const crossings = (await authEvents.list({ tenantId: "acme", types: [THRESHOLD_EVENT] })).items;
    expect(crossings).toHaveLength(1);
    expect(crossings[0]!.meta).toMatchObject({ rule: "login-user-ip", count: 15, threshold: 10 });
    expect((await authEvents.list({ tenantId: "acme", types: ["LOGIN_FAILED"] })).items).toHaveLength(15);
  });

  it("close() also waits for identity counts still unwritten, and coalesces them per identity and bucket", async () => {
    const clock = new ManualClock("2026-11-26T10:00:05.000Z");
    const inner = new MemoryCounterStore({ clock });
    const counters = flakyCounters(inner);
    let incrementCalls = 0;
    const counting: CounterStore = new Proxy(counters.store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop === "incrementMany" && typeof v === "function")
          return (adds: unknown[]) => {
            incrementCalls += adds.length;
            return v(adds);
          };
        return v;
      },
    });
    const rec = createSignalRecorder({ counters: counting, clock });
    for (let f = 0; f < 20; f++) {
      for (let i = 0; i < 3; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "u1", ip: "203.0.113.9" });
      await expect(rec.flush()).rejects.toBeInstanceOf(UnavailableError);
    }
    counters.set(false);
    incrementCalls = 0;
    await rec.close({ timeoutMs: 5_000 });
    // One event add per scope (tenant, global) and one identity add: what was kept did not grow per failed flush.
    expect(incrementCalls).toBeLessThanOrEqual(4);
    const window = { tenantId: "acme", bucketMs: MIN, fromMs: clock.now() - 10 * MIN, toMs: clock.now() + MIN } as const;
    expect(await inner.sum({ ...window, key: eventKey("LOGIN_FAILED") })).toBe(60);
    expect(await inner.sum({ ...window, key: breachKey("FAILED_LOGINS_SPIKE") })).toBe(1);
  });
});
