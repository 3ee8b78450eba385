import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnavailableError, type FlagChange } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";
import { redisStores, type RedisStores } from "@ops/adapter-redis";
import { RedisProcess } from "./redis-process.js";

async function eventually(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

describe("redis outages (own redis-server, killed mid-run)", () => {
  let server: RedisProcess;
  let client: Redis;
  let writer: Redis;
  let stores: RedisStores;

  beforeAll(async () => {
    server = await RedisProcess.start();
    // Fail fast while disconnected instead of queueing commands (what we recommend in the README).
    client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    writer = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    // Connection errors during the outage are expected; without a listener ioredis prints each one.
    for (const c of [client, writer]) c.on("error", () => {});
    await Promise.all([once(client, "ready"), once(writer, "ready")]);
    stores = redisStores(client, { prefix: "outage", flagPollIntervalMs: 50 });
  });

  afterAll(async () => {
    await stores?.close();
    client?.disconnect();
    writer?.disconnect();
    await server?.kill();
  });

  it("a dropped subscription falls back to polling, reports what it missed, and resubscribes", async () => {
    const got: FlagChange[] = [];
    const stop = stores.flags.subscribe((c) => got.push(c));
    const other = redisStores(writer, { prefix: "outage" });
    await stores.flags.put({ env: "prod", key: "f1", tenantId: null, config: true, expectedVersion: null, actor: "a" });
    await eventually(() => got.some((c) => c.key === "f1" && c.version === 1), "f1 v1 over pub/sub");

    // Kill only the subscriber connections: the server stays up, writes go on from another client.
    await writer.client("KILL", "TYPE", "pubsub");
    await other.flags.put({ env: "prod", key: "f1", tenantId: null, config: false, expectedVersion: 1, actor: "b" });
    await other.flags.put({ env: "prod", key: "f2", tenantId: "acme", config: 1, expectedVersion: null, actor: "b" });
    await eventually(() => got.some((c) => c.key === "f1" && c.version === 2), "f1 v2 after the drop");
    await eventually(() => got.some((c) => c.key === "f2" && c.tenantId === "acme"), "f2 after the drop");

    // Subscribed again: a new change arrives through pub/sub.
    await other.flags.put({ env: "prod", key: "f3", tenantId: null, config: 1, expectedVersion: null, actor: "b" });
    await eventually(() => got.some((c) => c.key === "f3"), "f3 after resubscribe");
    stop();
  });

  it("while Redis is down every store rejects with UnavailableError, flag reads keep the last known values, nothing is corrupted", async () => {
    await stores.counters.increment({ tenantId: "t1", key: "fails", atMs: Date.now(), bucketMs: 60_000, windowBuckets: 5 });
    const errors: unknown[] = [];
    const flags = new FeatureFlagController(stores.flags, "prod", { onError: (e) => errors.push(e), pollIntervalMs: 50 });
    await flags.ready();
    await flags.setFlag({ key: "kill_switch_checkout", newValue: true, actorUserId: "admin", reason: "before the outage" });
    await flags.setFlag({ key: "beta", newValue: false, actorUserId: "admin", reason: "x", tenantId: "acme" });
    await server.kill();
    await eventually(() => client.status !== "ready", "client notices the outage");
    await new Promise((r) => setTimeout(r, 200)); // several failed polls
    expect(flags.isEnabled("kill_switch_checkout")).toBe(true);
    expect(await flags.getBool("kill_switch_checkout")).toBe(true);
    expect(await flags.getBool("beta", "acme")).toBe(false);
    expect(errors.length).toBeGreaterThan(0); // the failures went to onError, not into app code
    await expect(flags.setFlag({ key: "beta", newValue: true, actorUserId: "admin", reason: "during the outage" })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(flags.isEnabled("beta", { tenantId: "acme" })).toBe(false);
    await flags.close();

    const calls: Array<[string, () => Promise<unknown>]> = [
      ["flags.get", () => stores.flags.get({ env: "prod", key: "f1", tenantId: null })],
      ["flags.put", () => stores.flags.put({ env: "prod", key: "f9", tenantId: null, config: 1, expectedVersion: null, actor: "a" })],
      ["counters.increment", () => stores.counters.increment({ tenantId: "t1", key: "fails", atMs: Date.now(), bucketMs: 60_000 })],
      ["incidents.get", () => stores.incidents.get({ tenantId: "t1", id: "x" })],
      ["authEvents.list", () => stores.authEvents.list({ tenantId: "t1" })],
      ["outbox.claim", () => stores.outbox.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: new Date().toISOString() })],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).retryable, name).toBe(true);
      expect((err as Error).message, name).toMatch(/^\[ops\/adapter-redis\]/);
    }

    await server.start();
    await eventually(() => client.status === "ready", "client reconnects");
    // A fresh server: the store works again (state is the operator's persistence choice).
    const n = await stores.counters.increment({ tenantId: "t1", key: "fails", atMs: Date.now(), bucketMs: 60_000 });
    expect(n).toBe(1);
    const rec = await stores.flags.put({ env: "prod", key: "after", tenantId: null, config: 1, expectedVersion: null, actor: "a" });
    expect(rec.version).toBe(1);
  });
});

function once(r: Redis, event: string): Promise<void> {
  return new Promise((resolve) => r.once(event, () => resolve()));
}
