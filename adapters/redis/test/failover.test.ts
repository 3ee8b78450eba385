// A master of the Redis Cluster is killed mid-run (SIGKILL), its replica takes over (~2-6 s), and
// the killed node is restarted afterwards so the Cluster is whole again for other suites. Meanwhile
// counters, flags and the outbox keep being used; afterwards no acknowledged counter increment,
// flag version or outbox message is lost, and no message is delivered twice.
import { Redis, type Cluster } from "ioredis";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, type OutboxMessage } from "@ops/core";
import { randomTenant } from "@ops/testkit";
import { redisStores } from "@ops/adapter-redis";
import { clusterSeeds, connect, deletePrefix, holdClusterExclusively, requireCluster } from "./targets.js";

const up = await requireCluster();
if (up) await holdClusterExclusively();
const prefix = `opstest-failover-${process.pid}-${Date.now().toString(36)}`;
const seeds = clusterSeeds();
const address = `cluster:${seeds.map((s) => `${s.host}:${s.port}`).join(",")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function clusterOk(): Promise<boolean> {
  // Every node answers and agrees the cluster is ok, with 3 masters each having a replica.
  const probe = new Redis(seeds[0]!.port, seeds[0]!.host, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => {});
  try {
    await probe.connect();
    const text = String(await probe.cluster("NODES"));
    const lines = text.trim().split("\n");
    const cols = lines.map((l) => l.split(" "));
    const healthy = (c: string[]) => !c[2]!.includes("fail") && c[7] === "connected";
    const masters = cols.filter((c) => c[2]!.split(",").includes("master") && healthy(c) && c.length > 8);
    const replicas = cols.filter((c) => c[2]!.split(",").includes("slave") && healthy(c));
    const info = String(await probe.cluster("INFO"));
    return info.includes("cluster_state:ok") && masters.length === 3 && replicas.length === 3;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

async function until(cond: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Retries a call until it succeeds (a failover makes calls fail for a few seconds). */
async function retrying<T>(fn: () => Promise<T>, onFail?: (err: unknown) => Promise<void> | void): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ConflictError || err instanceof NotFoundError || i > 200) throw err;
      await onFail?.(err);
      await sleep(100);
    }
  }
}

describe.skipIf(!up)("a Redis Cluster master killed mid-run", () => {
  const redis = up ? (connect(address, { maxRetriesPerRequest: 1 }) as Cluster) : null!;
  /** The killed node's config, until it is restarted (also when the test fails half-way). */
  let killedConf: string | null = null;

  afterAll(async () => {
    if (!up) return;
    if (killedConf) spawnSync("redis-server", [killedConf]);
    await until(clusterOk, "a whole cluster after the test", 60_000).catch(() => undefined);
    await deletePrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
  });

  it("loses no acknowledged counter increment, flag version or outbox message, and delivers none twice", async () => {
    await until(clusterOk, "a whole cluster before the test", 30_000);
    const stores = redisStores(redis, { prefix });
    const tenant = randomTenant("fo");
    const counterKey = `${stores.keys.scope(tenant)}:x`;
    // The master that owns this tenant's slot is the one we kill.
    const slot = Number(await redis.cluster("KEYSLOT", counterKey));
    const victim = redis.slots[slot]![0]!;
    const [vHost, vPort] = victim.split(":") as [string, string];
    const direct = new Redis(Number(vPort), vHost, { maxRetriesPerRequest: 0 });
    const pid = Number(/process_id:(\d+)/.exec(await direct.info("server"))![1]);
    const dir = ((await direct.config("GET", "dir")) as string[])[1]!;
    direct.disconnect();

    const stop = { now: false };
    const bucketMs = 3_600_000;
    const atMs = Math.floor(Date.now() / bucketMs) * bucketMs + 1;
    let ackedIncrements = 0;
    let ambiguousIncrements = 0;
    const counters = (async () => {
      while (!stop.now) {
        try {
          await stores.counters.increment({ tenantId: tenant, key: "x", atMs, bucketMs });
          ackedIncrements++;
        } catch {
          ambiguousIncrements++;
          await sleep(50);
        }
      }
    })();

    const ackedVersions: number[] = [];
    const flags = (async () => {
      let version: number | null = null;
      while (!stop.now) {
        try {
          const r = await stores.flags.put({
            env: "prod",
            key: "k",
            tenantId: tenant,
            config: { n: ackedVersions.length },
            expectedVersion: version,
            actor: "t",
          });
          ackedVersions.push(r.version);
          version = r.version;
        } catch (err) {
          // Ambiguous (or lost CAS after an ambiguous write): learn the real version and go on.
          if (!(err instanceof ConflictError)) await sleep(50);
          version = await retrying(async () => (await stores.flags.get({ env: "prod", key: "k", tenantId: tenant }))?.version ?? null);
        }
      }
    })();

    const channel = `ch-${tenant}`;
    const acked = new Set<string>();
    const delivered = new Map<string, number>();
    const producer = (async () => {
      for (let i = 0; !stop.now; i++) {
        const id = `m-${tenant}-${i}`;
        // Retried with the same id and idempotency key after an ambiguous failure.
        const m = await retrying(() =>
          stores.outbox.enqueue({
            message: { id, tenantId: tenant, channel, payload: { i }, idempotencyKey: `k-${id}`, createdAt: new Date().toISOString() },
          }),
        );
        expect(m.id).toBe(id);
        acked.add(id);
        await sleep(5);
      }
    })();
    const worker = async (w: string) => {
      const deliverable = async (drain: boolean) => {
        let got: OutboxMessage[] = [];
        try {
          got = await stores.outbox.claim({ workerId: w, limit: 20, leaseMs: 1000, now: new Date().toISOString(), channels: [channel] });
        } catch {
          await sleep(100);
          return true;
        }
        for (const m of got) {
          try {
            await stores.outbox.complete({ id: m.id, workerId: w, now: new Date().toISOString() });
            delivered.set(m.id, (delivered.get(m.id) ?? 0) + 1);
          } catch {
            // Lease lost or ambiguous: the message comes back after its lease and is completed once.
          }
        }
        return got.length > 0 || !drain;
      };
      while (!stop.now) if (!(await deliverable(false))) await sleep(20);
    };
    const workers = [worker("w1"), worker("w2")];

    await sleep(1500);
    process.kill(pid, "SIGKILL");
    killedConf = join(dir, "redis.conf");
    // The replica is promoted after cluster-node-timeout (5 s) plus an election.
    await until(
      async () => {
        try {
          const info = String(await redis.cluster("INFO"));
          return info.includes("cluster_state:ok") && redis.slots[slot]?.[0] !== victim;
        } catch {
          return false;
        }
      },
      "the failover",
      30_000,
    );
    await sleep(2000);
    stop.now = true;
    await Promise.all([counters, flags, producer, ...workers]);

    // Restart the killed node: it rejoins as a replica of its old replica.
    const restarted = spawnSync("redis-server", [killedConf], { encoding: "utf8" });
    expect(restarted.status, restarted.stderr).toBe(0);
    killedConf = null;

    // Drain: leases of 1 s expire, so whatever was claimed but not completed comes back.
    const drainEnd = Date.now() + 20_000;
    while (Date.now() < drainEnd && [...acked].some((id) => !delivered.has(id))) {
      const got = await stores.outbox
        .claim({ workerId: "drain", limit: 100, leaseMs: 1000, now: new Date(Date.now() + 5000).toISOString(), channels: [channel] })
        .catch(() => []);
      for (const m of got) {
        await stores.outbox.complete({ id: m.id, workerId: "drain", now: new Date().toISOString() }).then(
          () => delivered.set(m.id, (delivered.get(m.id) ?? 0) + 1),
          () => undefined,
        );
      }
      if (got.length === 0) await sleep(200);
    }

    console.log(
      `failover: ${ackedIncrements} increments acknowledged (${ambiguousIncrements} failed), ${ackedVersions.length} flag versions, ${acked.size} outbox messages`,
    );
    // Counters: every acknowledged increment is there (ambiguous ones may or may not be).
    const total = await stores.counters.sum({ tenantId: tenant, key: "x", bucketMs, fromMs: atMs - 1, toMs: atMs + bucketMs });
    expect(ackedIncrements).toBeGreaterThan(10);
    expect(total).toBeGreaterThanOrEqual(ackedIncrements);
    expect(total).toBeLessThanOrEqual(ackedIncrements + ambiguousIncrements);
    // Flags: versions acknowledged are strictly increasing and the stored one is at least the last.
    expect(ackedVersions.length).toBeGreaterThan(5);
    for (let i = 1; i < ackedVersions.length; i++) expect(ackedVersions[i]!).toBeGreaterThan(ackedVersions[i - 1]!);
    expect((await stores.flags.get({ env: "prod", key: "k", tenantId: tenant }))!.version).toBeGreaterThanOrEqual(ackedVersions.at(-1)!);
    // Outbox: every acknowledged message stored once and delivered exactly once.
    expect(acked.size).toBeGreaterThan(10);
    for (const id of acked) {
      expect(delivered.get(id), id).toBe(1);
      expect((await stores.outbox.get({ id }))?.status, id).toBe("delivered");
    }
    expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    const listed = new Map<string, number>();
    let cursor: string | null = null;
    do {
      const page: { items: OutboxMessage[]; nextCursor: string | null } = await stores.outbox.list({ channel, limit: 500, cursor });
      for (const m of page.items) listed.set(m.idempotencyKey, (listed.get(m.idempotencyKey) ?? 0) + 1);
      cursor = page.nextCursor;
    } while (cursor);
    expect([...listed.values()].every((n) => n === 1)).toBe(true);
    expect(listed.size).toBe(acked.size);
    await stores.close();

    await until(clusterOk, "the restarted node to rejoin as a replica", 60_000);
  }, 180_000);
});
