import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, OpsError, UnavailableError } from "@ops/core";
import { randomKey, randomTenant, requireService, testPgUrl } from "@ops/testkit";
import { PrismaCounterStore, PrismaFlagStore, mapPrismaError, prismaStores } from "../src/index.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";
import { TcpProxy } from "./helpers/tcp-proxy.js";

const up = await requireService("postgres");

/** What the tests need of the generated client's OpsFlag delegate (real Prisma errors come from it). */
interface FlagDelegate {
  create(a: { data: Record<string, unknown> }): Promise<unknown>;
  update(a: { where: { rowId: bigint }; data: Record<string, unknown> }): Promise<unknown>;
}

describe.skipIf(!up)("prisma: errors mapped in one place", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  let proxy: TcpProxy;
  let viaProxy: TestPrismaClient;

  beforeAll(async () => {
    db = await createTestDatabase("errors");
    prisma = await db.client();
    const target = new URL(testPgUrl());
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    const url = new URL(testPgUrl());
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    viaProxy = await db.client({ url: url.toString(), max: 2 });
  });
  afterAll(async () => {
    await proxy?.stop();
    await db?.drop();
  });

  const flag = () => ({ env: "prod", key: randomKey("f"), tenantId: randomTenant(), config: { on: true } as const });

  it("P2002 from a model delegate and 23505 from raw SQL both become ConflictError", async () => {
    const delegate = (prisma as unknown as { opsFlag: FlagDelegate }).opsFlag;
    const data = { env: "prod", key: randomKey("dup"), tenantId: "t-dup", config: {}, version: 1, updatedAt: new Date(), updatedBy: "x" };
    await delegate.create({ data });
    const p2002 = await delegate.create({ data }).catch((e: unknown) => e);
    expect((p2002 as { code?: string }).code).toBe("P2002");
    expect(mapPrismaError(p2002, "test")).toBeInstanceOf(ConflictError);

    const raw = await prisma
      .$executeRawUnsafe(
        `INSERT INTO ops_outbox (id, channel, payload, idempotency_key, status, created_at, next_attempt_at) VALUES ('same', 'c', '{}', 'k1', 'pending', now(), now()), ('same', 'c', '{}', 'k2', 'pending', now(), now())`,
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((raw as { code?: string }).code).toBe("P2010");
    const mapped = mapPrismaError(raw, "test");
    expect(mapped).toBeInstanceOf(ConflictError);
    expect((mapped as ConflictError).message).toMatch(/^\[ops\/adapter-prisma\] test:/);
  });

  it("P2025 (record to update not found) becomes NotFoundError; other database errors are scrubbed to their code", async () => {
    const delegate = (prisma as unknown as { opsFlag: FlagDelegate }).opsFlag;
    const p2025 = await delegate.update({ where: { rowId: -1n }, data: { updatedBy: "x" } }).catch((e: unknown) => e);
    expect((p2025 as { code?: string }).code).toBe("P2025");
    expect(mapPrismaError(p2025, "test")).toBeInstanceOf(NotFoundError);
    const syntax = await Promise.resolve(prisma.$queryRawUnsafe("SELEC 'secret-value'")).catch((e: unknown) => e);
    const mapped = mapPrismaError(syntax, "test") as OpsError;
    expect(mapped).toBeInstanceOf(OpsError);
    expect(mapped.message).toBe("[ops/adapter-prisma] test: the database refused the statement (42601)");
    expect(mapped.retryable).toBe(false);
  });

  it("a lost connection is UnavailableError (retryable), and the stores work again once it is back", async () => {
    const stores = prismaStores(viaProxy);
    const f = flag();
    await stores.flags.put({ ...f, expectedVersion: null, actor: "a" });
    expect(proxy.openConnections).toBeGreaterThan(0);

    proxy.refuse();
    const err = await stores.flags.get(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).retryable).toBe(true);
    expect((err as UnavailableError).message).toMatch(/^\[ops\/adapter-prisma\] flags\.get \S+: database connection lost or refused/);

    proxy.accept();
    let back: unknown = null;
    // The pool drops the dead connections and dials again through the proxy.
    for (let i = 0; i < 20 && !back; i++) back = await stores.flags.get(f).catch(() => null);
    expect(back).toMatchObject({ key: f.key, version: 1 });
  });

  it("a connection cut while a write is in flight rejects it with UnavailableError; a CAS retry is safe", async () => {
    const flags = new PrismaFlagStore(viaProxy);
    const f = flag();
    // Warm up (retry: the previous case may have left dead connections in the pool).
    let created = false;
    for (let i = 0; i < 20 && !created; i++)
      created = await flags.put({ ...f, expectedVersion: null, actor: "a" }).then(
        () => true,
        (e: unknown) => e instanceof ConflictError, // written before its answer was lost
      );
    expect(created).toBe(true);
    // Hold the row lock from a direct connection so the proxied UPDATE is in flight, waiting.
    const locker = await db.pool.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM ops_flags WHERE env = $1 AND key = $2 AND tenant_id = $3 FOR UPDATE", [f.env, f.key, f.tenantId]);
      const inFlight = flags.put({ ...f, config: { on: false }, expectedVersion: 1, actor: "b" }).catch((e: unknown) => e);
      // Cut only once the UPDATE is really waiting on the lock inside the server.
      for (let i = 0; i < 200; i++) {
        const { rows } = await db.pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE \"ops_flags\"%'",
        );
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      proxy.cut();
      const err = await inFlight;
      expect(err).toBeInstanceOf(UnavailableError);
      await locker.query("ROLLBACK");
    } finally {
      locker.release();
    }
    // The orphaned UPDATE may still run once the lock is gone: wait until the server is done with it.
    for (let i = 0; i < 200; i++) {
      const { rows } = await db.pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%UPDATE \"ops_flags\"%' AND pid <> pg_backend_pid()",
      );
      if (rows.length === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    // Its outcome is unknown to the caller (the server may have committed it before noticing the
    // client was gone), which is what UnavailableError says; compare-and-set keeps the retry safe:
    // it either applies once or reports the conflict.
    const { rows } = await db.pool.query("SELECT version FROM ops_flags WHERE key = $1", [f.key]);
    expect([1, 2]).toContain(rows[0].version);
    const retry = await new PrismaFlagStore(prisma)
      .put({ ...f, config: { on: false }, expectedVersion: 1, actor: "b" })
      .catch((e: unknown) => e);
    if (rows[0].version === 1) expect(retry).toMatchObject({ version: 2 });
    else expect(retry).toBeInstanceOf(ConflictError);
  });

  it("under a running load, cutting the connection turns every failure into UnavailableError", async () => {
    const counters = new PrismaCounterStore(viaProxy);
    const key = randomKey("load");
    const atMs = Date.now();
    const failures: unknown[] = [];
    let ok = 0;
    const worker = async () => {
      for (let i = 0; i < 60; i++) {
        await counters.increment({ tenantId: null, key, atMs, bucketMs: 60_000 }).then(
          () => ok++,
          (e: unknown) => failures.push(e),
        );
      }
    };
    const load = Promise.all([worker(), worker(), worker()]);
    await new Promise((r) => setTimeout(r, 100));
    proxy.refuse();
    await new Promise((r) => setTimeout(r, 200));
    proxy.accept();
    await load;
    expect(failures.length).toBeGreaterThan(0);
    for (const e of failures) expect(e).toBeInstanceOf(UnavailableError);
    expect(ok).toBeGreaterThan(0);
  });

  it("a closed store rejects with UnavailableError and never disconnects the app's client", async () => {
    const stores = prismaStores(prisma);
    await stores.close();
    await stores.close();
    await expect(stores.flags.get({ env: "prod", key: "k", tenantId: null })).rejects.toBeInstanceOf(UnavailableError);
    await expect(prisma.$queryRawUnsafe("SELECT 1")).resolves.toBeTruthy();
  });
});
