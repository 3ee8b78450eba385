import { PGlite } from "@electric-sql/pglite";
import { ConflictError, OpsError, TenantIsolationError, UnavailableError, ValidationError } from "@ops/core";
import { randomKey, randomTenant, requireService, testPgUrl } from "@ops/testkit";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drizzleStores, mapDbError, type DrizzleStores } from "../src/index.js";
import { createPgSchema } from "./support/harness.js";
import { TcpProxy } from "./support/tcp-proxy.js";

describe("mapDbError: the one place driver errors become @ops errors", () => {
  const pgError = (code: string, message = "boom") => Object.assign(new Error(message), { code });

  it("maps 23505 to ConflictError, through Drizzle's wrapper, without the query parameters in the message", () => {
    const wrapped = new DrizzleQueryError("insert into x values ($1)", ["secret-token"], pgError("23505", "duplicate key value"));
    const e = mapDbError(wrapped, "flags.put dev/k");
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as Error).message).toMatch(/^\[ops\/adapter-drizzle\] flags\.put dev\/k/);
    expect((e as Error).message).not.toContain("secret-token");
    expect((e as ConflictError).retryable).toBe(false); // a duplicate: the same call fails the same way
  });

  it("maps lost connections (node errors, postgres.js codes, 57P01, class 08) to retryable UnavailableError", () => {
    for (const err of [
      pgError("ECONNRESET"),
      pgError("ECONNREFUSED"),
      pgError("CONNECTION_CLOSED"),
      pgError("57P01"),
      pgError("08006"),
      new Error("Connection terminated unexpectedly"),
    ]) {
      const e = mapDbError(new DrizzleQueryError("select 1", [], err), "x");
      expect(e).toBeInstanceOf(UnavailableError);
      expect((e as UnavailableError).retryable).toBe(true);
    }
  });

  it("maps RLS/privilege refusals and unstorable text; scrubs any other database error down to its SQLSTATE", () => {
    expect(mapDbError(pgError("42501"), "x")).toBeInstanceOf(TenantIsolationError);
    expect(mapDbError(pgError("22P05"), "x")).toBeInstanceOf(ValidationError);
    const syntax = pgError("42601", 'syntax error at or near "secret-token"');
    const mapped = mapDbError(new DrizzleQueryError("select $1", ["secret-token"], syntax), "x") as OpsError;
    expect(mapped).toBeInstanceOf(OpsError);
    expect(mapped.message).toBe("[ops/adapter-drizzle] x: the database refused the statement (42601)");
    expect(mapped.retryable).toBe(false);
    // An error that is not the database's (a bug) stays as it is.
    const bug = new TypeError("x is not a function");
    expect(mapDbError(bug, "x")).toBe(bug);
  });
});

const pgUp = await requireService("postgres");

describe.skipIf(!pgUp)("a connection cut mid-run through a TCP proxy the test controls", () => {
  const upstream = new URL(testPgUrl());
  let schema: { schema: string; drop: () => Promise<void> };
  let locker: pg.Client;

  beforeAll(async () => {
    schema = await createPgSchema("errors");
    locker = new pg.Client({ connectionString: testPgUrl() });
    await locker.connect();
  });
  afterAll(async () => {
    await locker.end();
    await schema.drop();
  });

  const drivers: Array<[string, (url: string) => { stores: DrizzleStores; end: () => Promise<void> }]> = [
    [
      "node-postgres",
      (url) => {
        const pool = new pg.Pool({ connectionString: url, max: 2 });
        pool.on("error", () => {}); // idle clients cut by the proxy must not crash the process
        return { stores: drizzleStores(drizzleNodePg(pool), { schema: schema.schema }), end: () => pool.end() };
      },
    ],
    [
      "postgres.js",
      (url) => {
        const sql = postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 5 });
        return { stores: drizzleStores(drizzlePostgresJs(sql), { schema: schema.schema }), end: () => sql.end({ timeout: 1 }) };
      },
    ],
  ];

  for (const [name, open] of drivers) {
    it(`${name}: an in-flight write, then new calls, fail with UnavailableError; service resumes after`, async () => {
      const proxy = await new TcpProxy(upstream.hostname, Number(upstream.port || 5432)).start();
      const url = new URL(testPgUrl());
      url.host = `127.0.0.1:${proxy.port}`;
      const { stores, end } = open(url.toString());
      try {
        const at = { env: "test", key: randomKey("cut"), tenantId: randomTenant() };
        await stores.flags.put({ ...at, config: { on: true }, expectedVersion: null, actor: "t" });

        // Hold the row lock from a direct connection so the put through the proxy is surely in flight.
        await locker.query("BEGIN");
        await locker.query(`SELECT 1 FROM "${schema.schema}"."ops_flags" WHERE "key" = $1 FOR UPDATE`, [at.key]);
        const inFlight = stores.flags.put({ ...at, config: { on: false }, expectedVersion: 1, actor: "t" });
        const settled = inFlight.then(
          () => null,
          (e: unknown) => e,
        );
        await waitForLockWaiter(locker, at.key);
        await proxy.down();
        const err = await settled;
        await locker.query("ROLLBACK");
        expect(err).toBeInstanceOf(UnavailableError);
        expect((err as UnavailableError).retryable).toBe(true);
        expect((err as Error).message).toMatch(/^\[ops\/adapter-drizzle\] flags\.put/);

        // While the network refuses connections, every call is UnavailableError, none hangs.
        await expect(stores.flags.get(at)).rejects.toBeInstanceOf(UnavailableError);

        await proxy.up();
        const back = await stores.flags.get(at);
        expect(back?.key).toBe(at.key);
      } finally {
        await end().catch(() => {});
        await proxy.stop();
      }
    });
  }
});

/** Waits until some backend waits on a lock (the put reached the server and blocked). */
async function waitForLockWaiter(client: pg.Client, _key: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await client.query("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted");
    if ((r.rows[0] as { n: number }).n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the write never reached the server");
}

describe("PGlite: a closed database is UnavailableError", () => {
  it("rejects calls after the app closed its PGlite", async () => {
    const client = new PGlite();
    const stores = drizzleStores(drizzlePglite(client));
    await client.close();
    await expect(stores.flags.get({ env: "test", key: "k", tenantId: null })).rejects.toBeInstanceOf(UnavailableError);
    // Booting PGlite (WASM) takes long on a loaded machine.
  }, 120_000);
});

describe("closed stores", () => {
  it("reject with UnavailableError after close(), and never close the injected database", async () => {
    const client = new PGlite();
    const stores = drizzleStores(drizzlePglite(client));
    await stores.close();
    await stores.close();
    await expect(stores.flags.get({ env: "test", key: "k", tenantId: null })).rejects.toBeInstanceOf(UnavailableError);
    expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await client.close();
  });
});
