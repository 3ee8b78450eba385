// Throughput of the main write paths, direct against through a transaction pooler, and on a single
// Redis against a Redis Cluster, side by side in one run:
// - PostgreSQL (node-postgres and postgres.js under Drizzle, Prisma 7 + adapter-pg), each direct
//   (OPS_TEST_PG_URL) and through PgBouncer in pool_mode=transaction (OPS_TEST_PGBOUNCER_URL,
//   default: the same role on port 6432; postgres.js with `prepare: false` there): awaited audit
//   appends (@ops/audit, hash chain), counter increments, outbox enqueue, outbox delivery (claim 25
//   + complete each), flag writes (compare-and-set puts);
// - Redis: counter increments, outbox enqueue/delivery, flag writes, on the single server
//   (OPS_TEST_REDIS_URL) and on the Cluster (OPS_TEST_REDIS_CLUSTER).
// Every operation runs with 8 concurrent callers, each on its own tenant. A deployment that does
// not answer is reported as skipped.
import { createConnection } from "node:net";
import { drizzleStores } from "@ops/adapter-drizzle";
import { opsRoleSetupStatements } from "@ops/adapter-postgres";
import { prismaStores } from "@ops/adapter-prisma";
import { redisStores, scanKeys, type RedisClient } from "@ops/adapter-redis";
import { createAuditLog } from "@ops/audit";
import type { AuditStore, CounterStore, FlagStore, OutboxStore } from "@ops/core";
import { PrismaPg } from "@prisma/adapter-pg";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import { Cluster, Redis } from "ioredis";
import pg from "pg";
import postgres from "postgres";
import { PG_URL, benchEntry, benchSchema, median, pgReachable, prismaOn } from "../lib/pg.js";
import type { BenchCase, BenchRow } from "../types.js";

const CONCURRENCY = 8;
const POOL = 8;

/** The pooler URL: OPS_TEST_PGBOUNCER_URL, else PG_URL's role and database on port 6432 (same role: the schema is its own). */
function poolerUrl(): string {
  if (process.env.OPS_TEST_PGBOUNCER_URL) return process.env.OPS_TEST_PGBOUNCER_URL;
  const u = new URL(PG_URL);
  u.port = "6432";
  return u.toString();
}

interface WriteStores {
  audit?: AuditStore;
  counters: CounterStore;
  outbox: OutboxStore;
  flags: FlagStore;
}

type Op = "audit append" | "counter increment" | "outbox enqueue" | "outbox deliver" | "flag write";
const OPS: readonly Op[] = ["audit append", "counter increment", "outbox enqueue", "outbox deliver", "flag write"];

/** Runs `n` calls of `call(worker, i)` with CONCURRENCY callers; ops/s. */
async function timed(n: number, call: (w: number, i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      while (next < n) await call(w, next++);
    }),
  );
  return (n / (performance.now() - t0)) * 1000;
}

/** One pass of every write path on `s`; ops/s per path. `tag` keeps runs apart (tenants, ids, keys). */
async function measure(s: WriteStores, n: number, tag: string): Promise<Map<Op, number>> {
  const out = new Map<Op, number>();
  const now = () => new Date().toISOString();
  if (s.audit) {
    const log = createAuditLog({ store: s.audit, env: "prod" });
    out.set("audit append", await timed(n, (w, i) => log.append(benchEntry(`${tag}-a${w}`, i))));
    await log.close();
  }
  const bucketMs = 60_000;
  out.set(
    "counter increment",
    await timed(n, (w, i) =>
      s.counters.increment({ tenantId: `${tag}-c${w}`, key: `login_failed:${i % 16}`, atMs: Date.now(), bucketMs, windowBuckets: 10 }),
    ),
  );
  const channel = `bench-${tag}`;
  out.set(
    "outbox enqueue",
    await timed(n, (w, i) =>
      s.outbox.enqueue({
        message: {
          id: `${tag}-m${i}`,
          tenantId: `${tag}-o${w}`,
          channel,
          payload: { i },
          idempotencyKey: `${tag}-k${i}`,
          createdAt: now(),
        },
      }),
    ),
  );
  let delivered = 0;
  let idle = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      while (delivered < n && idle < 200) {
        const got = await s.outbox.claim({ workerId: `w${w}`, limit: 25, leaseMs: 60_000, now: now(), channels: [channel] });
        if (got.length === 0) {
          idle++;
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        for (const m of got) await s.outbox.complete({ id: m.id, workerId: `w${w}`, now: now() });
        delivered += got.length;
      }
    }),
  );
  if (delivered !== n) throw new Error(`outbox: delivered ${delivered} of ${n}`);
  out.set("outbox deliver", (n / (performance.now() - t0)) * 1000);
  // Each caller rewrites its own tenant's flags (16 keys) with compare-and-set on the version it wrote.
  const versions = new Map<string, number | null>();
  out.set(
    "flag write",
    await timed(n, async (w, i) => {
      const key = `flag_${i % 16}`;
      const id = `${w}/${key}`;
      const rec = await s.flags.put({
        env: `bench-${tag}`,
        key,
        tenantId: `${tag}-f${w}`,
        config: { on: i % 2 === 0, rollout: i % 100 },
        expectedVersion: versions.get(id) ?? null,
        actor: "bench",
      });
      versions.set(id, rec.version);
    }),
  );
  return out;
}

type Setup = { label: string; group: "pg" | "redis"; open: () => Promise<{ stores: WriteStores; close: () => Promise<void> }> };

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.setTimeout(1500, () => (s.destroy(), resolve(false)));
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

async function pgSetups(): Promise<{ setups: Setup[]; skipped: string[]; drop: () => Promise<void> }> {
  const skipped: string[] = [];
  if (!(await pgReachable())) return { setups: [], skipped: [`PostgreSQL not reachable at ${new URL(PG_URL).host}`], drop: async () => {} };
  const { schema, pool, drop } = await benchSchema("pooler");
  // The running role (in CI the non-superuser ops_test) gets the service policy, as a service role does.
  const me = String((await pool.query("SELECT current_user AS me")).rows[0]?.me);
  for (const st of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await pool.query(st);
  const pooled = poolerUrl();
  const pu = new URL(pooled);
  const poolerUp = await reachable(pu.hostname, Number(pu.port || 5432));
  if (!poolerUp) skipped.push(`PgBouncer not reachable at ${pu.host} (.ci/pgbouncer.sh start)`);
  const targets: Array<["direct" | "PgBouncer", string]> = [
    ["direct", PG_URL],
    ...(poolerUp ? [["PgBouncer", pooled] as ["PgBouncer", string]] : []),
  ];
  const setups: Setup[] = [];
  for (const [target, url] of targets) {
    const viaPooler = target === "PgBouncer";
    setups.push({
      label: `node-postgres (Drizzle), ${target}`,
      group: "pg",
      open: async () => {
        const p = new pg.Pool({ connectionString: url, max: POOL });
        const stores = drizzleStores(drizzleNodePg(p), { schema });
        return { stores, close: async () => void (await stores.close(), await p.end()) };
      },
    });
    setups.push({
      label: `postgres.js (Drizzle${viaPooler ? ", prepare: false" : ""}), ${target}`,
      group: "pg",
      open: async () => {
        const sql = postgres(url, { max: POOL, onnotice: () => {}, ...(viaPooler ? { prepare: false } : {}) });
        const stores = drizzleStores(drizzlePostgresJs(sql), { schema });
        return { stores, close: async () => void (await stores.close(), await sql.end()) };
      },
    });
    setups.push({
      label: `Prisma 7 (adapter-pg), ${target}`,
      group: "pg",
      open: async () => {
        const prisma = viaPooler ? await prismaPooled(url, schema) : await prismaOn(schema, POOL);
        const stores = prismaStores(prisma, { schema });
        return { stores, close: async () => void (await stores.close(), await prisma.$disconnect()) };
      },
    });
  }
  return { setups, skipped, drop };
}

/** A Prisma client through the pooler: no startup `options` (PgBouncer refuses them); the stores name the schema. */
async function prismaPooled(url: string, schema: string) {
  const direct = await prismaOn(schema, POOL); // generates the client (once) and gives us its class
  const PrismaClient = direct.constructor as new (o: { adapter: PrismaPg }) => typeof direct;
  await direct.$disconnect();
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: POOL }, { schema }) });
}

const clusterSeeds = (process.env.OPS_TEST_REDIS_CLUSTER || "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103").split(",").map((hp) => {
  const [host, port] = hp.split(":");
  return { host: host!, port: Number(port) };
});

async function redisSetups(prefix: string): Promise<{ setups: Setup[]; skipped: string[] }> {
  const skipped: string[] = [];
  const setups: Setup[] = [];
  const open = (client: RedisClient) => async () => {
    const stores = redisStores(client, { prefix });
    return {
      stores,
      close: async () => {
        await stores.close();
        for (const k of await scanKeys(client, `${prefix}:*`)) await client.del(k);
        client.disconnect();
      },
    };
  };
  const url = new URL(process.env.OPS_TEST_REDIS_URL || "redis://127.0.0.1:6379");
  if (await reachable(url.hostname, Number(url.port || 6379)))
    setups.push({
      label: "Redis, single server",
      group: "redis",
      open: () => open(new Redis(url.toString(), { maxRetriesPerRequest: 2 }))(),
    });
  else skipped.push(`Redis not reachable at ${url.host}`);
  const s0 = clusterSeeds[0]!;
  if (await reachable(s0.host, s0.port))
    setups.push({
      label: "Redis Cluster, 3 masters",
      group: "redis",
      open: () =>
        open(
          new Cluster(clusterSeeds, { retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, redisOptions: { maxRetriesPerRequest: 2 } }),
        )(),
    });
  else skipped.push("Redis Cluster not reachable (.ci/redis-cluster.sh start)");
  return { setups, skipped };
}

const bench: BenchCase = {
  name: "pooler-throughput: write paths direct vs PgBouncer (transaction mode), single Redis vs Cluster",
  async run({ quick }): Promise<BenchRow[]> {
    const n = quick ? 300 : 600;
    const runs = quick ? 1 : 3;
    const prefix = `opsbench-pool-${process.pid}`;
    const pgs = await pgSetups();
    const reds = await redisSetups(prefix);
    const setups = [...pgs.setups, ...reds.setups];
    const results = new Map<string, Map<Op, number[]>>();
    try {
      // Warm-up (discarded), then `runs` passes alternating over every setup, so a busy neighbour slows all alike.
      for (let r = -1; r < runs; r++) {
        for (const setup of setups) {
          const { stores, close } = await setup.open();
          try {
            const got = await measure(stores, r < 0 ? Math.min(n, 100) : n, `${setup.group}${setups.indexOf(setup)}r${r + 1}`);
            if (r < 0) continue;
            const per = results.get(setup.label) ?? new Map<Op, number[]>();
            for (const [op, v] of got) per.set(op, [...(per.get(op) ?? []), v]);
            results.set(setup.label, per);
          } finally {
            await close();
          }
        }
      }
    } finally {
      await pgs.drop();
    }
    const rows: BenchRow[] = [];
    for (const op of OPS) {
      for (const family of ["pg", "redis"] as const) {
        const group = `write path: ${op}, ${family === "pg" ? "PostgreSQL direct vs PgBouncer (transaction mode)" : "single Redis vs Redis Cluster"}, ${CONCURRENCY} concurrent callers`;
        const mine = setups.filter((s) => s.group === family && results.get(s.label)?.has(op));
        mine.forEach((s, i) =>
          rows.push({
            group,
            subject: s.label,
            opsPerSec: median(results.get(s.label)!.get(op)!),
            note: `${n} ops, median of ${runs}${family === "pg" ? `, pool of ${POOL}` : ""}`,
            ...(i === 0 ? { ours: true } : {}),
          }),
        );
      }
    }
    for (const reason of [...pgs.skipped, ...reds.skipped]) rows.push({ group: "write paths", subject: "(skipped)", note: reason });
    return rows;
  },
};
export default bench;
