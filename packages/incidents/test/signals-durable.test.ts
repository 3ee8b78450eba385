import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { UnavailableError, type AuthEventStore } from "@ops/core";
import { createOpsRuntime } from "../src/index.js";

// `signalsDurable()`: acknowledge only what is stored and counted, one flush per round of callers.
describe("runtime.signalsDurable", () => {
  function setup() {
    const stores = memoryStores();
    let appends = 0;
    let release: (() => void) | undefined;
    let gate: Promise<void> | undefined;
    const authEvents: AuthEventStore = Object.create(stores.authEvents);
    authEvents.append = async (input) => {
      appends++;
      if (gate !== undefined) await gate;
      return stores.authEvents.append(input);
    };
    const runtime = createOpsRuntime({ stores: { ...stores, authEvents }, mitigation: { mode: "off" } });
    const hold = () => {
      gate = new Promise<void>((r) => (release = r));
    };
    const open = () => {
      gate = undefined;
      release?.();
    };
    return { stores, runtime, appends: () => appends, hold, open };
  }

  it("resolves only once what was recorded before it is stored and counted; concurrent callers share a flush", async () => {
    const t = setup();
    t.hold();
    t.runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "u1" });
    let first = false;
    const a = t.runtime.signalsDurable().then(() => (first = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(first).toBe(false); // the store has not answered: not acknowledged yet
    // Recorded while the first flush writes: not in it, so these wait for the next one, together.
    const later: Array<Promise<void>> = [];
    for (let i = 0; i < 20; i++) {
      t.runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: `v${i}` });
      later.push(t.runtime.signalsDurable());
      await new Promise((r) => setTimeout(r, 1));
    }
    t.open();
    await a;
    await Promise.all(later);
    expect(first).toBe(true);
    // One flush for the first caller, one shared by the 20 that came while it ran.
    expect(t.appends()).toBe(2);
    expect((await t.stores.authEvents.list({ tenantId: "acme", limit: 100 })).items).toHaveLength(21);
  });

  it("rejects with the store's error when the flush failed, and the signals are still written by a later flush", async () => {
    const stores = memoryStores();
    let down = true;
    const authEvents: AuthEventStore = Object.create(stores.authEvents);
    authEvents.append = async (input) => {
      if (down) throw new UnavailableError("store down");
      return stores.authEvents.append(input);
    };
    const runtime = createOpsRuntime({ stores: { ...stores, authEvents }, mitigation: { mode: "off" } });
    runtime.recordAuthEvent({ type: "LOGIN_FAILED", tenantId: "acme", userId: "u1" });
    await expect(runtime.signalsDurable()).rejects.toBeInstanceOf(UnavailableError);
    down = false;
    await runtime.signalsDurable();
    expect((await stores.authEvents.list({ tenantId: "acme" })).items).toHaveLength(1);
  });
});
