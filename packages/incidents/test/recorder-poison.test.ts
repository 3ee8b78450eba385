import { MemoryAuthEventStore, MemoryCounterStore } from "@ops/adapter-memory";
import { ValidationError, type AuthEventStore, type CounterAdd, type CounterStore } from "@ops/core";
import { describe, expect, it } from "vitest";
import { createSignalRecorder, type RecorderDeadLetter } from "../src/index.js";

/** Rejects (as a store would: a non-retryable @ops error) every batch holding an event of user "poison". */
export function poisonEvents(store: AuthEventStore): AuthEventStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "append")
        return async (input: Parameters<AuthEventStore["append"]>[0]) => {
          if (input.events.some((e) => e.userId === "poison"))
            throw new ValidationError("[ops/test] authEvents.append: a value cannot be stored (22021: test)");
          return target.append(input);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** Rejects every counter add (batched or not) of tenant "t-poison"; `batched: false` hides incrementMany. */
export function poisonCounters(store: CounterStore, batched = true): CounterStore {
  const bad = (a: CounterAdd) => a.tenantId === "t-poison";
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "increment")
        return async (a: CounterAdd) => {
          if (bad(a)) throw new ValidationError("[ops/test] counters.increment: a value cannot be stored (22021: test)");
          return target.increment(a);
        };
      if (prop === "incrementMany" && (!batched || !target.incrementMany)) return undefined;
      if (prop === "incrementMany")
        return async (adds: CounterAdd[]) => {
          if (adds.some(bad)) throw new ValidationError("[ops/test] counters.incrementMany: a value cannot be stored (22021: test)");
          return target.incrementMany!(adds);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

/**
 * One poison event and one poison tenant's counts in the middle of a 1,000-event flush: the flush
 * resolves, the poison records are dead-lettered (counted, reported with a reason), every other
 * event and count is stored at once, and a clean event sent next is stored within a second.
 */
export async function poisonScenario(counters: CounterStore, authEvents: AuthEventStore, batched: boolean): Promise<void> {
  const dead: RecorderDeadLetter[] = [];
  const rec = createSignalRecorder({
    counters: poisonCounters(counters, batched),
    authEvents: poisonEvents(authEvents),
    onDeadLetter: (d) => dead.push(d),
    batchSize: 500,
  });
  const run = `r${Math.random().toString(36).slice(2, 8)}`;
  const now = Date.now();
  for (let i = 0; i < 1_000; i++)
    rec.recordAuthEvent({
      type: "LOGIN_FAILED",
      tenantId: i === 600 ? "t-poison" : `${run}-${i % 20}`,
      userId: i === 500 ? "poison" : `u${i}`,
      ip: "10.0.0.1",
      occurredAt: now,
    });
  await rec.flush();
  const st = rec.stats();
  expect(st.flushedEvents).toBe(999);
  expect(st.flushErrors).toBe(0);
  expect(st.buffered).toBe(0);
  const events = dead.filter((d) => d.kind === "event");
  expect(events).toHaveLength(1);
  expect(events[0]!.reason).toContain("VALIDATION");
  expect(dead.some((d) => d.kind === "counter" && d.tenantId === "t-poison")).toBe(true);
  expect(st.deadLettered).toBe(dead.length);
  const from = new Date(now - 60_000).toISOString();
  const to = new Date(now + 60_000).toISOString();
  let stored = 0;
  for (let t = 0; t < 20; t++) stored += (await authEvents.countByType({ tenantId: `${run}-${t}`, from, to })).LOGIN_FAILED ?? 0;
  expect(stored).toBe(998); // 1,000 minus the poison event and the poison tenant's event
  const bucket = Math.floor(now / 60_000) * 60_000;
  expect(
    await counters.sum({ tenantId: `${run}-3`, key: "ev:LOGIN_FAILED", bucketMs: 60_000, fromMs: bucket, toMs: bucket + 60_000 }),
  ).toBe(50);
  // Nothing is retried: the next flush stores a clean event at once.
  rec.recordAuthEvent({ type: "LOGIN_SUCCEEDED", tenantId: `${run}-0`, userId: "clean", occurredAt: now });
  const t0 = Date.now();
  await rec.flush();
  expect(Date.now() - t0).toBeLessThan(1_000);
  expect((await authEvents.countByType({ tenantId: `${run}-0`, from, to })).LOGIN_SUCCEEDED).toBe(1);
  expect(rec.stats().deadLettered).toBe(dead.length);
  await rec.close();
}

describe("recorder: one bad record never blocks the rest (memory)", () => {
  it("batched counters (incrementMany)", async () => {
    await poisonScenario(new MemoryCounterStore(), new MemoryAuthEventStore(), true);
  });
  it("per-add counters (a store without incrementMany)", async () => {
    await poisonScenario(new MemoryCounterStore(), new MemoryAuthEventStore(), false);
  });
  it("an unavailable store keeps the batch for the next flush (not dead-lettered)", async () => {
    const events = new MemoryAuthEventStore();
    let down = true;
    const flaky = new Proxy(events, {
      get(target, prop, receiver) {
        if (prop === "append")
          return async (input: Parameters<AuthEventStore["append"]>[0]) => {
            if (down) throw new Error("connection refused");
            return target.append(input);
          };
        return Reflect.get(target, prop, receiver);
      },
    });
    const rec = createSignalRecorder({ counters: new MemoryCounterStore(), authEvents: flaky, onDeadLetter: () => {} });
    for (let i = 0; i < 10; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "t1", userId: `u${i}` });
    await expect(rec.flush()).rejects.toThrow("connection refused");
    expect(rec.stats()).toMatchObject({ buffered: 10, deadLettered: 0, flushedEvents: 0 });
    down = false;
    await rec.flush();
    expect(rec.stats()).toMatchObject({ buffered: 0, deadLettered: 0, flushedEvents: 10 });
  });
});
