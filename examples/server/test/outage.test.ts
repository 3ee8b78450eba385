import { testPgAdminUrl } from "@ops/testkit";
import { requireService } from "@ops/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  badFlagAnswers,
  buildServerBundle,
  countSpike,
  type Instance,
  RedisProcess,
  postSpike,
  propagationMs,
  startInstance,
  TcpProxy,
  waitFor,
  waitForIncident,
} from "./outage-harness.js";
import { freshDatabase } from "./support.js";

/**
 * Nothing lost across outages (#21 item 3), end to end: two instances of the example service run
 * as child processes; a failed-login spike is posted to one of them while PostgreSQL is
 * unreachable (a loopback proxy, cut and restored) or while its Redis is down (a Redis server of
 * this test, killed and restarted EMPTY). Every signal is acknowledged (202) or refused (429/503),
 * and after recovery every acknowledged one is stored and counted, the spike raises its incident
 * (mitigated and notified), flag changes propagate again (LISTEN and Redis subscribe re-established
 * with backoff) and no flag answers null or ERROR. The full 20 s outages are `bench --only=outage`.
 */
const OUTAGE_MS = Number(process.env.OPS_OUTAGE_MS ?? 5_000);
const pgUp = await requireService("postgres");

/** The admin's URL of a fresh database (reads through RLS, for counting from outside). */
function adminUrlOf(url: string): string {
  const admin = new URL(testPgAdminUrl());
  admin.pathname = new URL(url).pathname;
  return admin.toString();
}

function report(
  spike: { acknowledged: number; refused: number },
  recovered: number,
  inc: { raisedAt: number; mitigatedAt: number; notifiedAt: number },
) {
  const s = (t: number) => ((t - recovered) / 1000).toFixed(1);
  console.info(
    `[outage] ${expect.getState().currentTestName}: acknowledged ${spike.acknowledged}, refused ${spike.refused}; incident raised ${s(inc.raisedAt)} s, mitigated ${s(inc.mitigatedAt)} s, notified ${s(inc.notifiedAt)} s after recovery`,
  );
}

let bundle: Awaited<ReturnType<typeof buildServerBundle>>;
beforeAll(async () => {
  bundle = await buildServerBundle();
}, 120_000);
afterAll(() => bundle?.remove());

describe.skipIf(!pgUp)("outages: nothing acknowledged is lost, detection and propagation resume", () => {
  it(`PostgreSQL unreachable for ${OUTAGE_MS} ms: the spike posted meanwhile raises its incident after recovery; LISTEN resumes`, async () => {
    const db = await freshDatabase();
    const target = new URL(db.url);
    const proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const instances: Instance[] = [];
    try {
      const env = { DATABASE_URL: viaProxy.toString() };
      const a = await startInstance(bundle.path, "pg-a", env);
      instances.push(a);
      const b = await startInstance(bundle.path, "pg-b", env);
      instances.push(b);
      await propagationMs(a, b, "g.outage.before", 1);
      const since = Date.now();

      await proxy.down();
      const spike = await postSpike(a, { batch: 20, everyMs: 100, untilMs: Date.now() + OUTAGE_MS });
      await proxy.up();
      const recovered = Date.now();

      expect(spike.other).toEqual([]);
      expect(spike.acknowledged).toBeGreaterThan(0);
      // LISTEN is back within its backoff (1 s at most) and the reader re-read what it missed.
      const seen = await propagationMs(a, b, "g.outage.after", 2);
      console.info(`[outage] flag change A -> B seen ${Date.now() - recovered} ms after recovery (${seen} ms after the write)`);
      expect(Date.now() - recovered).toBeLessThan(5_000);
      expect(seen).toBeLessThan(5_000);
      const inc = await waitForIncident(instances, 30_000);
      report(spike, recovered, inc);
      const counts = await waitFor(
        "every acknowledged signal stored and counted",
        async () => {
          const c = await countSpike({ databaseUrl: adminUrlOf(db.url), sinceMs: since });
          return c.stored === spike.acknowledged && c.counted === spike.acknowledged && c.crossings === 1 ? c : null;
        },
        20_000,
        200,
      ).catch(async (err: Error) => {
        throw new Error(
          `${err.message}: acknowledged ${spike.acknowledged}, ${JSON.stringify(await countSpike({ databaseUrl: adminUrlOf(db.url), sinceMs: since }))}`,
        );
      });
      expect(counts).toEqual({ stored: spike.acknowledged, counted: spike.acknowledged, crossings: 1 });
      expect(await badFlagAnswers(b, ["g.outage.before", "g.outage.after"])).toEqual([]);
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
      await proxy.stop();
      await db.drop();
    }
  }, 90_000);

  it(`Redis down for ${OUTAGE_MS} ms and back EMPTY: the spike raises its incident, flags are served from PostgreSQL, Redis subscribe resumes`, async () => {
    const db = await freshDatabase();
    const redis = await RedisProcess.start();
    const prefix = `outage-${process.pid}`;
    const instances: Instance[] = [];
    try {
      const env = { DATABASE_URL: db.url, REDIS_URL: redis.url, OPS_REDIS_PREFIX: prefix };
      const a = await startInstance(bundle.path, "redis-a", env);
      instances.push(a);
      const b = await startInstance(bundle.path, "redis-b", env);
      instances.push(b);
      await propagationMs(a, b, "g.outage.before", 1);
      const override = await a.call("PUT", "/ops/api/v1/flags/g.outage.before/overrides/tenant_x", {
        body: { value: 7, reason: "outage test" },
      });
      expect(override.status, override.text).toBe(200);
      const since = Date.now();

      await redis.kill();
      const spike = await postSpike(a, { batch: 20, everyMs: 100, untilMs: Date.now() + OUTAGE_MS });
      await redis.start(); // no persistence: it comes back empty
      const recovered = Date.now();
      const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      probe.on("error", () => {});
      try {
        expect(await probe.dbsize()).toBeLessThan(5);
        // Both instances subscribe again (ioredis' backoff, capped at 1 s by the propagation).
        await waitFor(
          "both subscriptions back",
          async () => {
            const [, n] = (await probe.pubsub("NUMSUB", `${prefix}:flags:changes`)) as [string, number];
            return n >= 2;
          },
          10_000,
          20,
        );
      } finally {
        probe.disconnect();
      }
      expect(Date.now() - recovered).toBeLessThan(5_000);

      expect(spike.other).toEqual([]);
      expect(spike.acknowledged).toBeGreaterThan(0);
      const seen = await propagationMs(a, b, "g.outage.after", 2);
      console.info(`[outage] flag change A -> B seen ${Date.now() - recovered} ms after recovery (${seen} ms after the write)`);
      expect(seen).toBeLessThan(5_000);
      // Flags live in PostgreSQL: the empty Redis loses none, no instance answers null or ERROR.
      for (const i of instances) {
        expect(await badFlagAnswers(i, ["g.outage.before", "g.outage.after"])).toEqual([]);
        const t = await i.call("POST", "/ops/api/v1/flags/g.outage.before/evaluate", { tenant: "tenant_x", body: {} });
        expect(t.json.value).toBe(7);
      }
      const inc = await waitForIncident(instances, 30_000);
      report(spike, recovered, inc);
      const counts = await waitFor(
        "every acknowledged signal stored and counted",
        async () => {
          const c = await countSpike({ databaseUrl: adminUrlOf(db.url), redis: { url: redis.url, prefix }, sinceMs: since });
          return c.stored === spike.acknowledged && c.counted === spike.acknowledged && c.crossings === 1 ? c : null;
        },
        20_000,
        200,
      ).catch(async (err: Error) => {
        throw new Error(
          `${err.message}: acknowledged ${spike.acknowledged}, ${JSON.stringify(
            await countSpike({ databaseUrl: adminUrlOf(db.url), redis: { url: redis.url, prefix }, sinceMs: since }),
          )}`,
        );
      });
      expect(counts).toEqual({ stored: spike.acknowledged, counted: spike.acknowledged, crossings: 1 });
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
      await redis.kill();
      await db.drop();
    }
  }, 90_000);
});
