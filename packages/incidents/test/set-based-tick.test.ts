import { describe, expect, it } from "vitest";
import { MemoryCounterStore, MemoryIncidentStore } from "@ops/adapter-memory";
import { ManualClock, type CounterStore, type IncidentStore } from "@ops/core";
import { createOpsRuntime } from "../src/index.js";

const MIN = 60_000;

/** Wraps a store so that every method call is counted. */
function counting<S extends object>(store: S): { store: S; calls: () => number; reset: () => void } {
  let n = 0;
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || prop === "close" || prop === "capabilities") return v;
      return (...args: unknown[]) => {
        n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls: () => n, reset: () => void (n = 0) };
}

function world(registered: number, withReadActive = true) {
  const clock = new ManualClock("2026-11-26T10:00:01.000Z");
  const base = new MemoryCounterStore({ clock });
  if (!withReadActive) Object.defineProperty(base, "readActive", { value: undefined });
  const counters = counting<CounterStore>(base);
  const incidents = counting<IncidentStore>(new MemoryIncidentStore({ clock }));
  const tenants = Array.from({ length: registered }, (_, i) => `tenant-${i}`);
  const runtime = createOpsRuntime({ stores: { counters: counters.store, incidents: incidents.store }, clock, tenants: () => tenants });
  return { clock, counters, incidents, runtime };
}

async function spike(w: ReturnType<typeof world>, active: number) {
  for (let b = 0; b < 2; b++) {
    for (let t = 0; t < active; t++)
      for (let i = 0; i < 40; i++)
        w.runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: `tenant-${t}`, userId: `u${i}`, ip: `198.51.100.${i}` });
    w.clock.advance(MIN);
  }
  await w.runtime.recorder.flush();
  w.counters.reset();
  w.incidents.reset();
  return w.runtime.tick();
}

describe("set-based detection: a tick's cost follows activity, not tenants", () => {
  it("counter calls per tick do not grow with idle tenants, and every active tenant is detected", async () => {
    const small = world(10);
    const big = world(5_000);
    const a = await spike(small, 3);
    const b = await spike(big, 3);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    expect(b.raised.map((i) => i.tenantId).sort()).toEqual(["tenant-0", "tenant-1", "tenant-2"]);
    expect(big.counters.calls()).toBe(small.counters.calls());
    expect(big.counters.calls()).toBeLessThanOrEqual(2);
    // Only active tenants produce findings: 5,000 registered tenants, 3 active.
    expect(b.findings).toBeLessThan(20);
  });

  it("a spike recorded by another instance is detected by this one (the active set comes from the store)", async () => {
    const clock = new ManualClock("2026-11-26T10:00:01.000Z");
    const counters = new MemoryCounterStore({ clock });
    const incidents = new MemoryIncidentStore({ clock });
    const writer = createOpsRuntime({ stores: { counters, incidents }, clock });
    const detector = createOpsRuntime({ stores: { counters, incidents }, clock });
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < 40; i++) writer.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: `u${i}` });
      clock.advance(MIN);
    }
    await writer.recorder.flush();
    const r = await detector.tick();
    expect(r.raised.map((i) => [i.tenantId, i.type])).toEqual([["acme", "FAILED_LOGINS_SPIKE"]]);
  });

  it("without readActive the store is read per registered tenant, with bounded concurrency", async () => {
    const w = world(200, false);
    let inFlight = 0;
    let peak = 0;
    const read = w.counters.store.read.bind(w.counters.store);
    w.counters.store.read = async (q) => {
      peak = Math.max(peak, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 0));
        return await read(q);
      } finally {
        inFlight--;
      }
    };
    const r = await spike(w, 2);
    expect(r.raised.map((i) => i.tenantId).sort()).toEqual(["tenant-0", "tenant-1"]);
    expect(peak).toBeLessThanOrEqual(8);
  });
});

describe("a tick never rejects", () => {
  it("a failing store step is reported in the tick's report and the other steps still run", async () => {
    const w = world(1);
    w.incidents.store.scan = async () => {
      throw new Error("incident store down");
    };
    const r = await spike(w, 1);
    expect(r.failedSteps).toContain("list-active");
    expect(r.errors.map((e) => (e as Error).message)).toContain("incident store down");
    expect(r.raised.map((i) => i.tenantId)).toEqual(["tenant-0"]);
  });

  it("a failing counter store fails the detect step only", async () => {
    const w = world(1);
    w.counters.store.readActive = async () => {
      throw new Error("counters down");
    };
    const r = await spike(w, 1);
    expect(r.failedSteps).toEqual(["detect"]);
    expect(r.raised).toEqual([]);
  });
});
