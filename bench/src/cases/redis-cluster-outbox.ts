// Outbox delivery on a Redis Cluster of 3 masters: the outbox sharded over 16 hash tags (the
// default, spread over the masters) against all outbox traffic on one slot (`outboxShards: 1`),
// same client, same workload, back to back. Needs the Cluster of `.ci/redis-cluster.sh start`
// (OPS_TEST_REDIS_CLUSTER, default 127.0.0.1:7101-7103); says "skipped" when it does not answer.
import { createConnection } from "node:net";
import { Cluster, Redis } from "ioredis";
import { redisStores, scanKeys, type RedisClient } from "@ops/adapter-redis";
import type { BenchCase, BenchRow } from "../types.js";

const seeds = (process.env.OPS_TEST_REDIS_CLUSTER || "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103").split(",").map((hp) => {
  const [host, port] = hp.split(":");
  return { host: host!, port: Number(port) };
});

function up(): Promise<boolean> {
  const s0 = seeds[0]!;
  return new Promise((resolve) => {
    const s = createConnection({ host: s0.host, port: s0.port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** CPU seconds (user + sys) each master has used so far. */
async function masterCpu(client: RedisClient): Promise<Map<string, number>> {
  const nodes = (client as { isCluster?: boolean }).isCluster ? (client as Cluster).nodes("master") : [client as Redis];
  const out = new Map<string, number>();
  for (const node of nodes) {
    const info = await node.info("cpu");
    const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    out.set(`${node.options.host}:${node.options.port}`, get("used_cpu_user") + get("used_cpu_sys"));
  }
  return out;
}

/** Enqueues `n` messages, then `workers` concurrent workers claim and complete until all are delivered. */
async function deliver(
  cluster: RedisClient,
  prefix: string,
  shards: number,
  n: number,
  workers: number,
): Promise<{ enqueue: number; deliver: number; ceiling: number }> {
  const cpu0 = await masterCpu(cluster);
  const stores = redisStores(cluster, { prefix, outboxShards: shards });
  const { outbox } = stores;
  const now = () => new Date().toISOString();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) {
        const i = next++;
        await outbox.enqueue({
          message: { id: `m${i}`, tenantId: `t${i % 50}`, channel: "alerts", payload: { i }, idempotencyKey: `k${i}`, createdAt: now() },
        });
      }
    }),
  );
  const t1 = performance.now();
  let delivered = 0;
  let idle = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (delivered < n && idle < 50) {
        const got = await outbox.claim({ workerId: `w${w}`, limit: 25, leaseMs: 60_000, now: now() });
        if (got.length === 0) {
          idle++;
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        await Promise.all(got.map((m) => outbox.complete({ id: m.id, workerId: `w${w}`, now: now() })));
        delivered += got.length;
      }
    }),
  );
  const t2 = performance.now();
  const cpu1 = await masterCpu(cluster);
  // The busiest master bounds what the servers can do: messages per CPU-second it spent on them.
  let busiest = 0;
  for (const [node, c] of cpu1) busiest = Math.max(busiest, c - (cpu0.get(node) ?? c));
  await stores.close();
  if (delivered !== n) throw new Error(`delivered ${delivered} of ${n}`);
  return { enqueue: (n / (t1 - t0)) * 1000, deliver: (n / (t2 - t1)) * 1000, ceiling: busiest > 0 ? n / busiest : Number.NaN };
}

async function cleanup(client: RedisClient, prefix: string): Promise<void> {
  for (const k of await scanKeys(client, `${prefix}:*`)) await client.del(k);
}

const bench: BenchCase = {
  name: "outbox delivery on a Redis Cluster (3 masters): sharded vs one slot",
  async run({ quick }): Promise<BenchRow[]> {
    const group = "outbox: enqueue, then claim + complete, Redis Cluster of 3 masters";
    if (!(await up()))
      return [
        { group, subject: "@ops/adapter-redis", note: "skipped: Redis Cluster not reachable (.ci/redis-cluster.sh start)", ours: true },
      ];
    const cluster = new Cluster(seeds, {
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      maxRedirections: 64,
      redisOptions: { maxRetriesPerRequest: 2 },
    });
    const n = quick ? 3000 : 10_000;
    const workers = 8;
    const runs = quick ? 1 : 3;
    // For reference, the same workload on the single server of OPS_TEST_REDIS_URL.
    const server = new Redis(process.env.OPS_TEST_REDIS_URL || "redis://127.0.0.1:6379", { maxRetriesPerRequest: 2, lazyConnect: true });
    const serverUp = await server.connect().then(
      () => true,
      () => false,
    );
    type R = { enqueue: number; deliver: number; ceiling: number };
    const rows = { sharded: [] as R[], single: [] as R[], server: [] as R[] };
    try {
      // Warm-up, discarded: JIT, script caches and connections, for every configuration.
      for (const [name, shards, client] of [
        ["sharded", 16, cluster],
        ["single", 1, cluster],
        ["server", 16, server],
      ] as const) {
        if (name === "server" && !serverUp) continue;
        const prefix = `opsbench-cob-${process.pid}-${name}-warm`;
        await deliver(client, prefix, shards, 500, workers);
        await cleanup(client, prefix);
      }
      for (let r = 0; r < runs; r++) {
        // Alternated, so a busy neighbour slows all alike.
        for (const [name, shards, client] of [
          ["sharded", 16, cluster],
          ["single", 1, cluster],
          ["server", 16, server],
        ] as const) {
          if (name === "server" && !serverUp) continue;
          const prefix = `opsbench-cob-${process.pid}-${name}-${r}`;
          rows[name].push(await deliver(client, prefix, shards, n, workers));
          await cleanup(client, prefix);
        }
      }
    } finally {
      cluster.disconnect();
      server.disconnect();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const sharded = median(rows.sharded.map((x) => x.deliver));
    const single = median(rows.single.map((x) => x.deliver));
    const enq = (xs: Array<{ enqueue: number }>) => Math.round(median(xs.map((x) => x.enqueue))).toLocaleString("en-US");
    const ceilingGroup = "outbox: server-side ceiling, messages (enqueue + delivery) per CPU-second of the busiest Redis master";
    return [
      {
        group,
        subject: "@ops/adapter-redis, outbox over 16 shards (default)",
        opsPerSec: sharded,
        note: `${n} messages, ${workers} workers, claim limit 25; enqueue ${enq(rows.sharded)}/s; target >= 1.5x one slot`,
        ours: true,
      },
      {
        group,
        subject: "@ops/adapter-redis, outboxShards: 1 (all on one slot)",
        opsPerSec: single,
        note: `same; enqueue ${enq(rows.single)}/s`,
      },
      ...(rows.server.length
        ? [
            {
              group,
              subject: "@ops/adapter-redis, single Redis server (reference)",
              opsPerSec: median(rows.server.map((x) => x.deliver)),
              note: `same; enqueue ${enq(rows.server)}/s`,
            },
          ]
        : []),
      {
        group: ceilingGroup,
        subject: "@ops/adapter-redis, outbox over 16 shards (default)",
        opsPerSec: median(rows.sharded.map((x) => x.ceiling)),
        note: "what the Cluster can carry when clients are not the bottleneck (INFO cpu deltas)",
        ours: true,
      },
      {
        group: ceilingGroup,
        subject: "@ops/adapter-redis, outboxShards: 1 (all on one slot)",
        opsPerSec: median(rows.single.map((x) => x.ceiling)),
      },
    ];
  },
};
export default bench;
