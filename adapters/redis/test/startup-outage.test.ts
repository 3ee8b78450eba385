import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { UnavailableError, type FlagChange } from "@ops/core";
import { redisStores } from "@ops/adapter-redis";
import { RedisProcess, freePort } from "./redis-process.js";

describe("flag store started while Redis is down (own redis-server, started late)", () => {
  let server: RedisProcess | undefined;
  afterAll(async () => {
    await server?.kill();
  });

  it("put rejects with UnavailableError instead of hanging on the pending subscription, then works once Redis is up", async () => {
    const port = await freePort();
    // What the README recommends: fail fast instead of queueing while disconnected.
    const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on("error", () => {});
    const stores = redisStores(client, { prefix: "startup" });
    const heard: FlagChange[] = [];
    stores.flags.subscribe((c) => heard.push(c));
    try {
      const at = { env: "prod", key: "f", tenantId: null };
      await expect(stores.flags.put({ ...at, config: 1, expectedVersion: null, actor: "a" })).rejects.toBeInstanceOf(UnavailableError);
      await expect(stores.flags.delete({ ...at, expectedVersion: 1 })).rejects.toBeInstanceOf(UnavailableError);

      server = new RedisProcess(port);
      await server.start();
      const until = Date.now() + 10_000;
      let written: Awaited<ReturnType<typeof stores.flags.put>> | undefined;
      while (!written && Date.now() < until) {
        written = await stores.flags.put({ ...at, config: 2, expectedVersion: null, actor: "a" }).catch(() => undefined);
        if (!written) await new Promise((r) => setTimeout(r, 50));
      }
      expect(written?.version).toBe(1);
      while (!heard.some((c) => c.key === "f") && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toContainEqual({ ...at, version: 1 });
    } finally {
      await stores.close();
      client.disconnect();
    }
  }, 30_000);
});
