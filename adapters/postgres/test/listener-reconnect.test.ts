// The LISTEN connection of the flag store through a TCP proxy that the test cuts and restores (a
// server restart or a network cut): the listener reconnects with backoff, the store re-reads what
// changed during the gap, and a change made after recovery arrives by NOTIFY within about a
// second, not by a 60 s safety poll (polling is set to 60 s here so only NOTIFY can be that fast).
import { testPgUrl } from "@ops/testkit";
import type { FlagChange } from "@ops/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodePgExecutor, nodePgListener, pgUrlListener, postgresStores, type PgListener } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";
import { TcpProxy } from "./support/tcp-proxy.js";

const up = await pgUp();

async function until(cond: () => boolean, ms: number): Promise<number> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > ms) return Number.POSITIVE_INFINITY;
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

describe.skipIf(!up)("adapter-postgres: LISTEN reconnects after the connection drops", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  let proxy: TcpProxy;
  let proxyUrl: string;
  beforeAll(async () => {
    db = await createSchema("reconnect");
    const u = new URL(testPgUrl());
    proxy = await new TcpProxy(u.hostname || "127.0.0.1", Number(u.port || 5432)).start();
    u.host = `127.0.0.1:${proxy.port}`;
    proxyUrl = u.toString();
  });
  afterAll(async () => {
    await proxy?.stop();
    await db?.drop();
  });

  const scenario = async (name: string, listener: PgListener, cleanup: () => Promise<void>) => {
    const warnings: string[] = [];
    const stores = postgresStores(nodePgExecutor(db.pool), {
      schema: db.schema,
      listener,
      propagation: { pollIntervalMs: 60_000 },
      onWarning: (m) => warnings.push(m),
    });
    const flags = stores.flags;
    const got: FlagChange[] = [];
    flags.subscribe!((c) => got.push(c));
    const env = `env_${name}`;
    const has = (key: string, version: number) => () => got.some((c) => c.env === env && c.key === key && c.version === version);
    try {
      await flags.put({ env, key: "before", tenantId: null, config: 1, expectedVersion: null, actor: "t" });
      expect(await until(has("before", 1), 2000)).toBeLessThan(2000);
      expect(await until(() => flags.propagation === "listen", 3000)).toBeLessThan(3000);

      await proxy.down(); // every connection through the proxy dropped, new ones refused
      expect(await until(() => flags.propagation === "polling", 2000)).toBeLessThan(2000);
      // A change while the LISTEN connection is gone: its NOTIFY is lost, the resync must find it.
      await flags.put({ env, key: "gap", tenantId: "t1", config: 1, expectedVersion: null, actor: "t" });
      await new Promise((r) => setTimeout(r, 1500));
      expect(has("gap", 1)()).toBe(false);

      await proxy.up();
      const recovered = performance.now();
      const gapMs = await until(has("gap", 1), 5000);
      const listenMs = await until(() => flags.propagation === "listen", 5000);
      // Made after recovery: heard by NOTIFY on the new connection.
      const wrote = performance.now();
      await flags.put({ env, key: "after", tenantId: null, config: 1, expectedVersion: null, actor: "t" });
      const afterMs = await until(has("after", 1), 5000);
      const resumeMs = wrote - recovered + afterMs;
      console.log(
        `[${name}] after the proxy came back: gap change re-read in ${gapMs.toFixed(0)} ms, LISTEN probed healthy in ${listenMs.toFixed(0)} ms, a new change heard ${afterMs.toFixed(0)} ms after its write (${resumeMs.toFixed(0)} ms after recovery)`,
      );
      expect(gapMs).toBeLessThan(1500);
      expect(afterMs).toBeLessThan(1000);
      expect(warnings).toEqual([]);
    } finally {
      await stores.close();
      await cleanup();
    }
  };

  it("nodePgListener over the app's own Client: a new Client with the same parameters, LISTEN resumes within ~1 s", async () => {
    const client = new pg.Client({ connectionString: proxyUrl });
    await client.connect();
    await scenario("client", nodePgListener(client), () => client.end().catch(() => {}));
  });

  it("listenUrl / pgUrlListener: its own connection reconnects the same way", async () => {
    await scenario("url", pgUrlListener(proxyUrl), async () => {});
  });
});
