import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { TenantIsolationError } from "@ops/core";
import { requireService, testRedisUrl } from "@ops/testkit";
import { TenantScope, currentKeyspace, escapeRedisGlob, tenantKeyspace, tenantOfKey } from "@ops/tenancy";

const up = await requireService("redis");
const NS = `t8test${process.pid}${Math.random().toString(36).slice(2, 6)}`;

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out.sort();
}

describe.skipIf(!up)("per-tenant Redis keyspaces (real Redis)", () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl(), { lazyConnect: false });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${NS}*`);
    const prefixed = await redis.keys(`pfx-${NS}*`);
    if (keys.length + prefixed.length > 0) await redis.del(...keys, ...prefixed);
    redis.disconnect();
  });

  it("tenant 'a' never sees the keys of tenant 'a:b' in SCAN (a plain 'a:' prefix would)", async () => {
    const a = tenantKeyspace("a", { namespace: NS });
    const ab = tenantKeyspace("a:b", { namespace: NS });
    await redis.set(a.key("x"), "1");
    await redis.set(ab.key("y"), "2");
    await redis.set(ab.key("x"), "3");
    expect(await collect(a.scan(redis))).toEqual(["x"]);
    expect(await collect(ab.scan(redis))).toEqual(["x", "y"]);
    // The naive scheme leaks: "ns:a:*" also matches tenant "a:b"'s keys.
    await redis.set(`${NS}:naive:a:x`, "1");
    await redis.set(`${NS}:naive:a:b:y`, "1");
    const naive: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${NS}:naive:a:*`, "COUNT", 1000);
      naive.push(...keys);
      cursor = next;
    } while (cursor !== "0");
    expect(naive.sort()).toEqual([`${NS}:naive:a:b:y`, `${NS}:naive:a:x`]);
  });

  it("a caller's glob stays inside the tenant, and glob characters in the prefix are escaped", async () => {
    const t = tenantKeyspace("t1", { namespace: NS });
    const other = tenantKeyspace("t2", { namespace: NS });
    await redis.set(t.key("flags:one"), "1");
    await redis.set(t.key("counters:c"), "1");
    await redis.set(other.key("flags:two"), "1");
    expect(await collect(t.scan(redis, "flags:*"))).toEqual(["flags:one"]);
    expect(await collect(t.scan(redis, "*"))).toEqual(["counters:c", "flags:one"]);
    expect(t.pattern("*")).toBe(`${NS}:tenant(t1):*`);
    expect(escapeRedisGlob("a*b?[c]\\")).toBe("a\\*b\\?\\[c\\]\\\\");
  });

  it("works with an ioredis keyPrefix client (which does not prefix SCAN patterns)", async () => {
    const prefixed = new Redis(testRedisUrl(), { keyPrefix: `pfx-${NS}:` });
    try {
      const ks = tenantKeyspace("acme", { namespace: NS, clientKeyPrefix: `pfx-${NS}:` });
      await prefixed.set(ks.key("k1"), "v");
      expect(await redis.get(`pfx-${NS}:${NS}:tenant(acme):k1`)).toBe("v");
      expect(await collect(ks.scan(prefixed))).toEqual(["k1"]);
      // Without clientKeyPrefix the pattern misses the stored key: the ioredis pitfall.
      const naive = tenantKeyspace("acme", { namespace: NS });
      expect(await collect(naive.scan(prefixed))).toEqual([]);
    } finally {
      prefixed.disconnect();
    }
  });

  it("pub/sub: a tenant's subscriber never gets another tenant's message on the same logical channel", async () => {
    const sub = new Redis(testRedisUrl());
    try {
      const a = tenantKeyspace("acme", { namespace: NS });
      const b = tenantKeyspace("globex", { namespace: NS });
      const got: string[] = [];
      const done = new Promise<void>((resolve) => {
        void a.subscribe(sub, "flags", (m) => {
          got.push(m);
          if (m === "for-acme-2") resolve();
        });
      });
      await new Promise((r) => setTimeout(r, 50));
      await redis.publish(a.channel("flags"), "for-acme-1");
      await redis.publish(b.channel("flags"), "for-globex");
      await redis.publish(a.channel("flags"), "for-acme-2");
      await done;
      expect(got).toEqual(["for-acme-1", "for-acme-2"]);
      // A pattern subscriber for one tenant's channels, routed by tenantOfKey.
      const psub = new Redis(testRedisUrl());
      const routed: Array<[string | null | undefined, string]> = [];
      const seen = new Promise<void>((resolve) => {
        psub.on("pmessage", (_p, ch, m) => {
          routed.push([tenantOfKey(ch, { namespace: NS }), m]);
          if (m === "end") resolve();
        });
      });
      await psub.psubscribe(a.pattern("*"));
      await redis.publish(b.channel("x"), "no");
      await redis.publish(a.channel("x"), "end");
      await seen;
      psub.disconnect();
      expect(routed).toEqual([["acme", "end"]]);
    } finally {
      sub.disconnect();
    }
  });

  it("currentKeyspace follows the scope; tenantOfKey parses both layouts", () => {
    expect(new TenantScope("acme").run(() => currentKeyspace().key("k"))).toBe("ops:tenant(acme):k");
    expect(TenantScope.global().run(() => currentKeyspace({ hashTag: true }).key("k"))).toBe("ops:{global}:k");
    expect(() => currentKeyspace()).toThrow(TenantIsolationError);
    expect(tenantOfKey("ops:tenant(a:b):x")).toBe("a:b");
    expect(tenantOfKey("ops:{tenant(acme)}:x", { hashTag: true })).toBe("acme");
    expect(tenantOfKey("ops:global:x")).toBeNull();
    expect(tenantOfKey("other:tenant(a):x")).toBeUndefined();
    expect(() => tenantKeyspace("bad id")).toThrow(/invalid tenantId/);
  });
});
