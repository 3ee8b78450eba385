import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { UnavailableError, type FlagStore } from "@ops/core";
import { FeatureFlagController, defineFlags, type FlagDefinitions } from "@ops/flags";

/** A real memory store behind a switch that makes every call fail like a lost connection. */
function flaky(inner = new MemoryFlagStore()): FlagStore & { down: boolean; inner: MemoryFlagStore } {
  const s = {
    down: false,
    inner,
    capabilities: { ...inner.capabilities, pubsub: false },
    close: () => inner.close(),
  } as FlagStore & { down: boolean; inner: MemoryFlagStore };
  for (const m of ["get", "put", "delete", "list", "snapshot"] as const)
    (s as unknown as Record<string, unknown>)[m] = async (input: never) => {
      if (s.down) throw new UnavailableError("[ops/test] store is down");
      return (inner[m] as (i: never) => Promise<unknown>).call(inner, input);
    };
  return s;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "ops-flags-"));
  dirs.push(d);
  return d;
}

describe("fail-safe", () => {
  it("store down at start: bootstrap object values, definitions' defaults, errors to onError", async () => {
    const store = flaky();
    store.down = true;
    const errors: string[] = [];
    const c = new FeatureFlagController(store, "prod", {
      pollIntervalMs: 0,
      definitions: defineFlags({ defined: { type: "boolean", default: true } }) as FlagDefinitions,
      bootstrap: { new_checkout_flow: true, banner: "offline" },
      onError: (err, info) => errors.push(`${info.operation}: ${(err as Error).message}`),
    });
    expect(await c.getBool("new_checkout_flow")).toBe(true);
    expect(await c.getString("banner")).toBe("offline");
    expect(await c.getBool("defined")).toBe(true);
    expect(await c.getBool("unknown")).toBe(false);
    expect(c.isLoaded).toBe(false);
    expect(errors).toEqual(["load: [ops/test] store is down"]);
    // The store comes back: a refresh replaces bootstrap values with the stored ones.
    store.down = false;
    await store.inner.put({
      env: "prod",
      key: "new_checkout_flow",
      tenantId: null,
      config: { type: "boolean", enabled: true, value: false, rules: [] },
      expectedVersion: null,
      actor: "a",
    });
    await c.refresh();
    expect(await c.getBool("new_checkout_flow")).toBe(false);
    expect(c.isLoaded).toBe(true);
  });

  it("store down at start: bootstrap file (plain values or { flags })", async () => {
    const file = join(tmp(), "flags.json");
    writeFileSync(file, JSON.stringify({ flags: { maintenance_mode: true } }));
    const store = flaky();
    store.down = true;
    const c = new FeatureFlagController(store, "prod", { pollIntervalMs: 0, bootstrap: { file }, onError: () => {} });
    expect(await c.getBool("maintenance_mode")).toBe(true);
  });

  it("backup file: written after each load, read back with rules and overrides when the store is down", async () => {
    const backupFile = join(tmp(), "backup.json");
    const store = flaky();
    const first = new FeatureFlagController(store, "prod", { pollIntervalMs: 0, backupFile });
    await first.ready();
    await first.setFlag({ key: "f", newValue: false, actorUserId: "a", reason: "r" });
    await first.setRules({
      key: "f",
      rules: [{ id: "vip", when: [{ attr: "plan", op: "eq", value: "vip" }], serve: { value: true } }],
      actorUserId: "a",
      reason: "r",
    });
    await first.setFlag({ key: "f", newValue: true, tenantId: "acme", actorUserId: "a", reason: "r" });
    await first.refresh();
    store.down = true;
    const second = new FeatureFlagController(store, "prod", { pollIntervalMs: 0, backupFile, onError: () => {} });
    await second.ready();
    expect(second.isEnabled("f", { plan: "vip" })).toBe(true);
    expect(second.isEnabled("f", { plan: "free" })).toBe(false);
    expect(second.isEnabled("f", { tenantId: "acme" })).toBe(true);
  });

  it("store down later: last known values keep being served; getBool never throws", async () => {
    const store = flaky();
    const errors: unknown[] = [];
    const c = new FeatureFlagController(store, "prod", { pollIntervalMs: 0, onError: (e) => errors.push(e) });
    await c.setFlag({ key: "f", newValue: true, actorUserId: "a", reason: "r" });
    store.down = true;
    await expect(c.refresh()).rejects.toBeInstanceOf(UnavailableError);
    expect(await c.getBool("f")).toBe(true);
    await expect(c.setFlag({ key: "f", newValue: false, actorUserId: "a", reason: "r" })).rejects.toBeInstanceOf(UnavailableError);
    expect(await c.getBool("f")).toBe(true);
  });

  it("a store that hangs at start: reads get fallbacks after startTimeoutMs, then the late load wins", async () => {
    const inner = new MemoryFlagStore();
    await inner.put({
      env: "prod",
      key: "f",
      tenantId: null,
      config: { type: "boolean", value: false },
      expectedVersion: null,
      actor: "a",
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const hanging: FlagStore = Object.assign(Object.create(inner) as FlagStore, {
      capabilities: { ...inner.capabilities, pubsub: false },
      snapshot: async (input: { env: string }) => {
        await gate;
        return inner.snapshot(input);
      },
      snapshotPage: async (input: { env: string }) => {
        await gate;
        return inner.snapshotPage(input);
      },
    });
    const errors: string[] = [];
    const c = new FeatureFlagController(hanging, "prod", {
      pollIntervalMs: 0,
      startTimeoutMs: 30,
      bootstrap: { f: true },
      onError: (e) => errors.push((e as Error).message),
    });
    expect(await c.getBool("f")).toBe(true);
    expect(errors[0]).toMatch(/did not finish within 30 ms/);
    const loaded = new Promise<void>((r) => c.watch(() => r()));
    release();
    await loaded;
    expect(c.isLoaded).toBe(true);
    expect(await c.getBool("f")).toBe(false);
  });

  it("a throwing onError hook is contained", async () => {
    const store = flaky();
    store.down = true;
    const c = new FeatureFlagController(store, "prod", {
      pollIntervalMs: 0,
      onError: () => {
        throw new Error("hook bug");
      },
    });
    expect(await c.getBool("x")).toBe(false);
  });

  it("a malformed stored flag evaluates to its default with PARSE_ERROR, others keep working", async () => {
    const store = new MemoryFlagStore();
    await store.put({
      env: "prod",
      key: "broken",
      tenantId: null,
      config: { type: "boolean", value: "nope" },
      expectedVersion: null,
      actor: "x",
    });
    await store.put({
      env: "prod",
      key: "ok",
      tenantId: null,
      config: { type: "boolean", value: true },
      expectedVersion: null,
      actor: "x",
    });
    const errors: string[] = [];
    const c = new FeatureFlagController(store, "prod", {
      pollIntervalMs: 0,
      onError: (_e, info) => errors.push(`${info.operation}:${info.key}`),
    });
    expect(await c.getBool("ok")).toBe(true);
    expect(await c.getBool("broken")).toBe(false);
    expect(c.evaluate("broken")).toMatchObject({ reason: "ERROR", errorCode: "PARSE_ERROR" });
    expect(errors).toContain("compile:broken");
  });

  it("polls when the store has no subscription", async () => {
    const store = flaky();
    const c = new FeatureFlagController(store, "prod", { pollIntervalMs: 20 });
    await c.ready();
    const changed = new Promise<void>((resolve) => c.watch(() => c.isEnabled("f") && resolve()));
    await store.inner.put({
      env: "prod",
      key: "f",
      tenantId: null,
      config: { type: "boolean", value: true },
      expectedVersion: null,
      actor: "a",
    });
    await changed;
    expect(c.isEnabled("f")).toBe(true);
    await c.close();
  });
});

describe("controller options (review)", () => {
  it("bad options are refused with a ConfigError naming the option", () => {
    const store = new MemoryFlagStore();
    for (const [opts, field] of [
      [{ maxWriteAttempts: 0 }, "maxWriteAttempts"],
      [{ pollIntervalMs: -1 }, "pollIntervalMs"],
      [{ startTimeoutMs: Number.NaN }, "startTimeoutMs"],
      [{ usageFlushMs: "600000" }, "usageFlushMs"],
      [{ onError: "log" }, "onError"],
      [{ audit: {} }, "audit"],
    ] as const)
      expect(() => new FeatureFlagController(store, "prod", opts as never)).toThrow(
        new RegExp(`^\\[ops/flags\\] invalid FeatureFlagController options: ${field}`),
      );
  });
});
