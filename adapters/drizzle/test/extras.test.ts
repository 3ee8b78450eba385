import { ValidationError } from "@ops/core";
import { randomKey, randomTenant } from "@ops/testkit";
import { expect, it } from "vitest";
import { drizzleStores } from "../src/index.js";
import { forEachDriver } from "./support/drivers.js";
import { backdoors } from "./support/harness.js";

it("drizzleStores rejects what is not a Drizzle database, and a malformed schema name", () => {
  expect(() => drizzleStores({} as never)).toThrow(ValidationError);
  expect(() => drizzleStores({ execute: async () => [], transaction: async () => [] } as never, { schema: 'x"; drop' })).toThrow(
    /options\.schema/,
  );
});

await forEachDriver("extras", (_driver, harness) => {
  it("counter buckets past their TTL are not read, and prune deletes them", async () => {
    const h = await harness();
    const tenant = randomTenant();
    const key = randomKey("c");
    const old = Date.UTC(2020, 0, 1);
    await h.stores.counters.increment({ tenantId: tenant, key, atMs: old, bucketMs: 60_000, ttlMs: 60_000 });
    const live = Math.floor(Date.now() / 60_000) * 60_000;
    await h.stores.counters.increment({ tenantId: tenant, key, atMs: live, bucketMs: 60_000, by: 3 });
    const raw = backdoors(h).counter;
    expect(await raw.readBucket({ tenantId: tenant, key, bucketMs: 60_000, startMs: old })).toBe(1);
    expect(await h.stores.counters.read({ tenantId: tenant, key, bucketMs: 60_000, fromMs: 0, toMs: live + 60_000 })).toEqual([
      { startMs: live, count: 3 },
    ]);
    expect(await h.stores.counters.prune({ limit: 10_000 })).toBeGreaterThanOrEqual(1);
    expect(await raw.readBucket({ tenantId: tenant, key, bucketMs: 60_000, startMs: old })).toBeNull();
    expect(await raw.readBucket({ tenantId: tenant, key, bucketMs: 60_000, startMs: live })).toBe(3);
  });

  it("text PostgreSQL cannot store (a NUL character) is a ValidationError and changes nothing", async () => {
    const h = await harness();
    const at = { env: "test", key: randomKey("nul"), tenantId: randomTenant() };
    await expect(h.stores.flags.put({ ...at, config: { s: "a\u0000b" }, expectedVersion: null, actor: "t" })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(h.stores.flags.put({ ...at, config: {}, expectedVersion: null, actor: "a\u0000" })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await h.stores.flags.get(at)).toBeNull();
  });

  it("flag configs that are JSON scalars (null, a numeric string) round-trip unchanged", async () => {
    const h = await harness();
    for (const config of [null, "123", "true", 0, false, [1, "2"]]) {
      const at = { env: "test", key: randomKey("scalar"), tenantId: null };
      await h.stores.flags.put({ ...at, config, expectedVersion: null, actor: "t" });
      expect((await h.stores.flags.get(at))?.config).toEqual(config);
    }
  });
});
