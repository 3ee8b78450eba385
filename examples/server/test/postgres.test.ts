import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhookSignature } from "@ops/notify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireService, testRedisUrl } from "@ops/testkit";
import { eventually, freshDatabase, startTestService, type TestService } from "./support.js";

const pgUp = await requireService("postgres");
const redisUp = pgUp && (await requireService("redis"));

/** A database of this file's own, dropped afterwards. */
/** The smoke path: flag write audited, a spike raising an incident with flags applied, rollback, chain verifies. */
async function smoke(t: TestService): Promise<void> {
  expect((await t.call("GET", "/readyz")).json.status).toBe("pass");
  expect(
    (await t.call("PUT", "/ops/api/v1/flags/auth.login.rate_limit_strict/value", { body: { value: false, reason: "baseline" } })).status,
  ).toBe(200);
  const events = Array.from({ length: 12 }, () => ({ type: "LOGIN_FAILED", userId: "alice", ip: "203.0.113.7" }));
  expect((await t.call("POST", "/api/signals", { body: { events } })).status).toBe(202);
  const inc = await eventually("a mitigated incident", async () => {
    await t.call("POST", "/ops/api/v1/runtime/tick", { body: { reason: "test tick" } });
    const r = await t.call("GET", "/ops/api/v1/incidents?type=FAILED_LOGINS_SPIKE");
    return r.json.items.find((i: { mitigation: { status: string } | null }) => i.mitigation?.status === "applied");
  });
  expect((await t.call("GET", "/ops/api/v1/flags/auth.login.rate_limit_strict")).json.value).toBe(true);
  expect((await t.call("POST", `/ops/api/v1/incidents/${inc.id}/rollback`, { body: { reason: "over" } })).status).toBe(200);
  expect((await t.call("GET", "/ops/api/v1/flags/auth.login.rate_limit_strict")).json.value).toBe(false);
  const v = await t.call("GET", "/ops/api/v1/audit/verify");
  expect(v.json).toMatchObject({ ok: true, problem: null });
  expect(v.json.checked).toBeGreaterThanOrEqual(8);
  expect(t.problems).toEqual([]);
}

describe.skipIf(!pgUp)("on PostgreSQL (DATABASE_URL, drizzle + node-postgres)", () => {
  let db: { url: string; drop: () => Promise<void> };
  let t: TestService;
  beforeAll(async () => {
    db = await freshDatabase();
    t = await startTestService({ DATABASE_URL: db.url, OPS_MITIGATION: "apply" });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("runs the smoke path", async () => {
    expect(t.service.storage.describe).toBe("postgresql (drizzle, node-postgres, LISTEN/NOTIFY)");
    await smoke(t);
  });

  it("a flag change reaches another instance on the same database through LISTEN/NOTIFY", async () => {
    const peer = await startTestService({ DATABASE_URL: db.url });
    try {
      expect((await peer.call("POST", "/ops/api/v1/flags/notify.me/evaluate", { body: {} })).json.errorCode).toBe("FLAG_NOT_FOUND");
      await t.call("PUT", "/ops/api/v1/flags/notify.me/value", { body: { value: true, reason: "propagate" } });
      // Well under the 15 s the controller would poll at without a subscription.
      await eventually(
        "the peer to see the change",
        async () => (await peer.call("POST", "/ops/api/v1/flags/notify.me/evaluate", { body: {} })).json.value === true,
        5_000,
      );
    } finally {
      await peer.close();
    }
  });

  it("keeps its data across a restart (migrations are not applied twice)", async () => {
    await t.close();
    t = await startTestService({ DATABASE_URL: db.url, OPS_MITIGATION: "apply" });
    expect((await t.call("GET", "/ops/api/v1/flags/auth.login.rate_limit_strict")).json.value).toBe(false);
    expect((await t.call("GET", "/ops/api/v1/audit/verify")).json.ok).toBe(true);
  });
});

describe.skipIf(!pgUp)("on PostgreSQL through Prisma (OPS_DB_DRIVER=prisma)", () => {
  let db: { url: string; drop: () => Promise<void> };
  let t: TestService;
  beforeAll(async () => {
    db = await freshDatabase();
    t = await startTestService({ DATABASE_URL: db.url, OPS_DB_DRIVER: "prisma", OPS_MITIGATION: "apply" });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("runs the smoke path, and restarts on the tables it created", async () => {
    expect(t.service.storage.describe).toBe("postgresql (prisma, @prisma/adapter-pg)");
    await smoke(t);
    await t.close();
    t = await startTestService({ DATABASE_URL: db.url, OPS_DB_DRIVER: "prisma" });
    expect((await t.call("GET", "/ops/api/v1/flags/auth.login.rate_limit_strict")).json.value).toBe(false);
    expect((await t.call("GET", "/ops/api/v1/audit/verify")).json.ok).toBe(true);
  });
});

describe.skipIf(!redisUp)("on PostgreSQL + Redis (REDIS_URL: flag changes by pub/sub, shared counters)", () => {
  const prefix = `opsex${process.pid}${Math.random().toString(36).slice(2, 6)}`;
  let db: { url: string; drop: () => Promise<void> };
  let t: TestService;
  let peer: TestService;
  beforeAll(async () => {
    db = await freshDatabase();
    const env = { DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), OPS_REDIS_PREFIX: prefix, OPS_MITIGATION: "apply" };
    t = await startTestService(env);
    peer = await startTestService(env);
  });
  afterAll(async () => {
    await peer?.close();
    await t?.close();
    await db?.drop();
    const { Redis } = await import("ioredis");
    const r = new Redis(testRedisUrl());
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length > 0) await r.del(...keys);
    await r.quit();
  });

  it("runs the smoke path and a flag change reaches the other instance", async () => {
    expect(t.service.storage.describe).toContain("+ redis");
    await smoke(t);
    await t.call("PUT", "/ops/api/v1/flags/checkout.v2/value", { body: { value: true, reason: "launch" } });
    await eventually(
      "the peer to see the change",
      async () => (await peer.call("POST", "/ops/api/v1/flags/checkout.v2/evaluate", { body: {} })).json.value === true,
      5_000,
    );
  });

  it("flags live in PostgreSQL: Redis emptied (a restart without persistence) loses none of them", async () => {
    await t.call("PUT", "/ops/api/v1/flags/search.v3/value", { body: { value: "beta", reason: "launch" } });
    const { Redis } = await import("ioredis");
    const r = new Redis(testRedisUrl());
    const keys = await r.keys(`${prefix}:*`);
    // Whatever Redis holds (counters) is gone, as after a restart without persistence.
    if (keys.length > 0) await r.del(...keys);
    await r.quit();
    const fresh = await startTestService({ DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), OPS_REDIS_PREFIX: prefix });
    try {
      for (const s of [t, peer, fresh]) {
        const v = await s.call("POST", "/ops/api/v1/flags/search.v3/evaluate", { body: {} });
        expect(v.json.value).toBe("beta");
        expect(v.json.reason).not.toBe("ERROR");
      }
      // And propagation still works through the (now empty) Redis.
      await fresh.call("PUT", "/ops/api/v1/flags/search.v3/value", { body: { value: "ga", reason: "after the restart" } });
      await eventually(
        "the peer to see the change made by the new instance",
        async () => (await peer.call("POST", "/ops/api/v1/flags/search.v3/evaluate", { body: {} })).json.value === "ga",
        5_000,
      );
    } finally {
      await fresh.close();
    }
  });
});

describe.skipIf(!pgUp)("tenant from a verified JWT (OPS_TENANT_JWT_SECRET)", () => {
  const secret = "s".repeat(40);
  const jwt = (claims: Record<string, unknown>, key = secret) => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const head = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })}`;
    return `${head}.${createHmac("sha256", key).update(head).digest("base64url")}`;
  };
  let db: { url: string; drop: () => Promise<void> };
  let t: TestService;
  beforeAll(async () => {
    db = await freshDatabase();
    t = await startTestService({ DATABASE_URL: db.url, OPS_TENANT_JWT_SECRET: secret });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it("scopes by the token's tenant_id claim; without a valid token (none, forged, no tenant and no global scope) it answers 401", async () => {
    const bearer = (claims: Record<string, unknown>, key?: string) => ({
      anonymous: true,
      headers: { authorization: `Bearer ${jwt(claims, key)}` },
    });
    const admin = bearer({ sub: "root", roles: ["admin"], ops_scope: "global" });
    expect((await t.call("PUT", "/ops/api/v1/flags/f.jwt/value", { ...admin, body: { value: false, reason: "baseline" } })).status).toBe(
      200,
    );
    const acme = bearer({ sub: "ann", roles: ["operator"], tenant_id: "acme" });
    const set = await t.call("PUT", "/ops/api/v1/flags/f.jwt/overrides/acme", { ...acme, body: { value: true, reason: "beta" } });
    expect(set.json.override.tenantId).toBe("acme");
    expect((await t.call("POST", "/ops/api/v1/flags/f.jwt/evaluate", { ...acme, body: {} })).json.reason).toBe("TENANT_OVERRIDE");
    // A tenant token changes no global flag.
    expect(
      (
        await t.call("PUT", "/ops/api/v1/flags/f.jwt/value", {
          ...bearer({ sub: "ann", roles: ["admin"], tenant_id: "acme" }),
          body: { value: true, reason: "x" },
        })
      ).status,
    ).toBe(403);
    // The gateway headers mean nothing in this mode; no token, a forged one, one without a tenant or scope: 401.
    for (const o of [
      { tenant: "acme" },
      { anonymous: true },
      bearer({ sub: "ann", roles: ["admin"], tenant_id: "acme" }, "x".repeat(40)),
      bearer({ sub: "ann", roles: ["admin"] }),
      bearer({ sub: "ann", roles: ["admin"], tenant_id: "" }),
      bearer({ roles: ["admin"], ops_scope: "global" }),
      bearer({ sub: "ann", roles: ["admin"], ops_scope: "global", exp: Math.floor(Date.now() / 1000) - 3600 }),
    ]) {
      expect((await t.call("GET", "/ops/api/v1/flags", o)).status).toBe(401);
      expect((await t.call("GET", "/ops/api/v1/audit", o)).status).toBe(401);
      expect((await t.call("POST", "/api/signals", { ...o, body: { type: "LOGIN_FAILED" } })).status).toBe(401);
      expect((await t.call("PUT", "/ops/api/v1/flags/f.jwt/enabled", { ...o, body: { enabled: false, reason: "x" } })).status).toBe(401);
    }
    expect((await t.call("GET", "/ops/api/v1/flags/f.jwt", admin)).json.enabled).toBe(true);
  });
});

describe.skipIf(!pgUp)("notifications to a webhook (OPSSPINE_NOTIFY_MODE=webhook)", () => {
  const secret = "webhook-secret-0123456789";
  const received: Array<{ body: string; headers: Record<string, string | string[] | undefined> }> = [];
  let receiver: Server;
  let db: { url: string; drop: () => Promise<void> };
  let t: TestService;
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/ops`;
    db = await freshDatabase();
    t = await startTestService({
      DATABASE_URL: db.url,
      OPSSPINE_NOTIFY_MODE: "webhook",
      OPSSPINE_WEBHOOK_URL: hook,
      OPSSPINE_WEBHOOK_SECRET: secret,
    });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await new Promise((r) => receiver?.close(r));
  });

  it("delivers an incident's notification as a signed webhook, and never logs the URL", async () => {
    expect(t.service.channels).toEqual(["webhook"]);
    const r = await t.call("POST", "/api/ops/auth", { tenant: "acme", role: "", body: { metrics: { failed_logins_1h: 150 } } });
    expect(r.json.incidents).toHaveLength(1);
    const got = await eventually("the webhook call", async () => {
      await t.call("POST", "/ops/api/v1/runtime/tick", { body: { reason: "test tick" } });
      return received[0];
    });
    const payload = JSON.parse(got.body) as { type: string; notification: { subject: string; tenantId: string } };
    expect(payload).toMatchObject({ type: "admin_notification", notification: { tenantId: "acme" } });
    expect(payload.notification.subject).toContain("Failed logins spike");
    expect(
      verifyWebhookSignature({
        secret,
        body: got.body,
        timestamp: got.headers["x-ops-timestamp"] as string,
        signature: got.headers["x-ops-signature"] as string,
      }),
    ).toBe(true);
    const delivered = await eventually("the outbox to mark it delivered", async () => {
      const n = await t.call("GET", "/ops/api/v1/outbox?status=delivered", { tenant: "acme" });
      return n.json.items[0];
    });
    expect(delivered.channel).toBe("webhook");
    expect(JSON.stringify(t.problems)).not.toContain("/hooks/ops");
  });
});
