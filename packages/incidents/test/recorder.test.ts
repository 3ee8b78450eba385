import { describe, expect, it } from "vitest";
import { MemoryAuthEventStore, MemoryCounterStore } from "@ops/adapter-memory";
import { ManualClock, OverloadedError, UnavailableError, ValidationError, type AuthEventRecord, type AuthEventStore } from "@ops/core";
import { createSignalRecorder, eventKey } from "../src/index.js";

const MIN = 60_000;

describe("recordAuthEvent", () => {
  it("is synchronous, then flush writes events (AuthOpsLog) and counts per tenant and global", async () => {
    const clock = new ManualClock("2026-11-26T10:00:05.000Z");
    const counters = new MemoryCounterStore({ clock });
    const authEvents = new MemoryAuthEventStore({ clock });
    const rec = createSignalRecorder({ counters, authEvents, clock });
    const r = rec.recordAuthEvent({
      type: "LOGIN_FAILED",
      tenantId: "acme",
      userId: "u1",
      ip: "203.0.113.1",
      provider: "password",
      meta: { ua: "x" },
    });
    expect(r).toBeUndefined();
    rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "globex" });
    rec.recordAuthEvent({ type: "LOGIN_FAILED" });
    rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", occurredAt: "2026-11-26T09:59:30.000Z" });
    expect(rec.stats()).toMatchObject({ recorded: 4, buffered: 4 });
    expect((await authEvents.list({ tenantId: "acme" })).items).toEqual([]); // nothing before flush
    await rec.flush();
    const acme = (await authEvents.list({ tenantId: "acme" })).items;
    expect(acme).toHaveLength(2);
    expect(acme[0]).toMatchObject({
      type: "LOGIN_FAILED",
      tenantId: "acme",
      userId: "u1",
      ip: "203.0.113.1",
      provider: "password",
      meta: { ua: "x" },
      occurredAt: "2026-11-26T10:00:05.000Z",
    });
    const q = {
      key: eventKey("LOGIN_FAILED"),
      bucketMs: MIN,
      fromMs: Date.parse("2026-11-26T09:59:00Z"),
      toMs: Date.parse("2026-11-26T10:01:00Z"),
    };
    expect(await counters.read({ ...q, tenantId: "acme" })).toEqual([
      { startMs: Date.parse("2026-11-26T09:59:00Z"), count: 1 },
      { startMs: Date.parse("2026-11-26T10:00:00Z"), count: 1 },
    ]);
    expect(await counters.sum({ ...q, tenantId: null })).toBe(4);
    expect(await counters.sum({ ...q, tenantId: "globex" })).toBe(1);
    expect(rec.stats()).toMatchObject({ buffered: 0, flushedEvents: 4 });
  });

  it("rejects bad input with a typed error naming the field, recording nothing", () => {
    const rec = createSignalRecorder({ counters: new MemoryCounterStore() });
    const cases: Array<[unknown, string]> = [
      [{ type: "login_failed" }, "type"],
      [{ type: "LOGIN_FAILED", tenantId: "has space" }, "tenantId"],
      [{ type: "LOGIN_FAILED", userId: 5 }, "userId"],
      [{ type: "LOGIN_FAILED", occurredAt: "not a date" }, "occurredAt"],
      [{ type: "LOGIN_FAILED", meta: [1] }, "meta"],
      [null, "(input)"],
    ];
    for (const [input, field] of cases) {
      try {
        rec.recordAuthEvent(input as never);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).issues[0]!.path).toBe(field);
        expect((err as Error).message).toMatch(/^\[ops\/incidents\]/);
      }
    }
    expect(rec.stats().recorded).toBe(0);
  });

  it("keeps what a failed flush could not write and writes it on the next flush", async () => {
    const inner = new MemoryAuthEventStore();
    let down = true;
    const flaky: AuthEventStore = {
      capabilities: inner.capabilities,
      append: (i: { events: readonly AuthEventRecord[] }) => (down ? Promise.reject(new UnavailableError("[test] down")) : inner.append(i)),
      list: (q) => inner.list(q),
      countByType: (q) => inner.countByType(q),
      prune: (q) => inner.prune(q),
      close: () => inner.close(),
    };
    const rec = createSignalRecorder({ counters: new MemoryCounterStore(), authEvents: flaky });
    for (let i = 0; i < 3; i++) rec.recordAuthEvent({ type: "SESSION_ANOMALY", tenantId: "acme" });
    await expect(rec.flush()).rejects.toBeInstanceOf(UnavailableError);
    expect(rec.stats()).toMatchObject({ buffered: 3, flushErrors: 1 });
    down = false;
    await rec.flush();
    expect((await inner.list({ tenantId: "acme" })).items).toHaveLength(3);
  });

  it("bounds the buffer: beyond maxBuffer details are dropped but counts are kept", async () => {
    const counters = new MemoryCounterStore();
    const rec = createSignalRecorder({ counters, authEvents: new MemoryAuthEventStore(), maxBuffer: 5 });
    const at = Date.now();
    for (let i = 0; i < 8; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", occurredAt: at });
    expect(rec.stats()).toMatchObject({ buffered: 5, dropped: 3 });
    await rec.close();
    const b = Math.floor(at / MIN) * MIN;
    expect(await counters.sum({ tenantId: "acme", key: eventKey("LOGIN_FAILED"), bucketMs: MIN, fromMs: b, toMs: b + MIN })).toBe(8);
  });

  it("reports every dropped detail to onDrop", () => {
    const drops: number[] = [];
    const rec = createSignalRecorder({
      counters: new MemoryCounterStore(),
      authEvents: new MemoryAuthEventStore(),
      maxBuffer: 2,
      onDrop: (n) => drops.push(n),
    });
    for (let i = 0; i < 5; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme" });
    expect(drops).toEqual([1, 1, 1]);
    expect(rec.stats().dropped).toBe(3);
  });

  it('overflow "refuse": a full buffer throws OverloadedError and records nothing, not even the count', async () => {
    const counters = new MemoryCounterStore();
    const authEvents = new MemoryAuthEventStore();
    const rec = createSignalRecorder({ counters, authEvents, maxBuffer: 3, overflow: "refuse", flushIntervalMs: 750 });
    const at = Date.now();
    expect(rec.capacity()).toBe(3);
    for (let i = 0; i < 3; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", occurredAt: at });
    expect(rec.capacity()).toBe(0);
    let err: unknown;
    try {
      rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", occurredAt: at });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OverloadedError);
    expect((err as OverloadedError).code).toBe("OVERLOADED");
    expect((err as OverloadedError).retryable).toBe(true);
    expect((err as OverloadedError).retryAfterMs).toBe(750);
    // Bad input is still a ValidationError, not "overloaded".
    expect(() => rec.recordAuthEvent({ type: "nope", tenantId: "acme" })).toThrow(ValidationError);
    expect(rec.stats()).toMatchObject({ recorded: 3, buffered: 3, dropped: 0 });
    await rec.flush();
    const b = Math.floor(at / MIN) * MIN;
    expect(await counters.sum({ tenantId: "acme", key: eventKey("LOGIN_FAILED"), bucketMs: MIN, fromMs: b, toMs: b + MIN })).toBe(3);
    expect((await authEvents.list({ tenantId: "acme" })).items).toHaveLength(3);
    expect(rec.capacity()).toBe(3);
  });

  it("a flush in progress keeps its events' room: a failed write puts them back and nothing is dropped", async () => {
    const inner = new MemoryAuthEventStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowFailing: AuthEventStore = {
      capabilities: inner.capabilities,
      append: async () => {
        await gate;
        throw new UnavailableError("[test] down");
      },
      list: (q) => inner.list(q),
      countByType: (q) => inner.countByType(q),
      prune: (q) => inner.prune(q),
      close: () => inner.close(),
    };
    const rec = createSignalRecorder({ counters: new MemoryCounterStore(), authEvents: slowFailing, maxBuffer: 4, overflow: "refuse" });
    for (let i = 0; i < 3; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: `a${i}` });
    const flushing = rec.flush();
    await new Promise((r) => setTimeout(r, 10));
    // The 3 being written still hold their room.
    expect(rec.capacity()).toBe(1);
    rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "b" });
    expect(() => rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "c" })).toThrow(OverloadedError);
    release();
    await expect(flushing).rejects.toBeInstanceOf(UnavailableError);
    expect(rec.stats()).toMatchObject({ buffered: 4, dropped: 0 });
  });

  it("close() retries a failed flush until the store is back, within its timeout", async () => {
    const inner = new MemoryAuthEventStore();
    let failures = 3;
    const flaky: AuthEventStore = {
      capabilities: inner.capabilities,
      append: (i: { events: readonly AuthEventRecord[] }) =>
        failures-- > 0 ? Promise.reject(new UnavailableError("[test] down")) : inner.append(i),
      list: (q) => inner.list(q),
      countByType: (q) => inner.countByType(q),
      prune: (q) => inner.prune(q),
      close: () => inner.close(),
    };
    const rec = createSignalRecorder({ counters: new MemoryCounterStore(), authEvents: flaky });
    for (let i = 0; i < 5; i++) rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme" });
    await rec.close({ timeoutMs: 10_000 });
    expect((await inner.list({ tenantId: "acme" })).items).toHaveLength(5);

    const dead = createSignalRecorder({
      counters: new MemoryCounterStore(),
      authEvents: { ...flaky, append: () => Promise.reject(new UnavailableError("[test] down")) },
    });
    dead.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme" });
    await expect(dead.close({ timeoutMs: 300 })).rejects.toBeInstanceOf(UnavailableError);
  });
});
