// The Redis deployments every suite runs on: a single server (OPS_TEST_REDIS_URL) and a Redis
// Cluster (OPS_TEST_REDIS_CLUSTER, comma-separated host:port seeds; `.ci/redis-cluster.sh start`
// runs one on 127.0.0.1:7101-7106). A missing one skips locally and fails under CI.
import { randomUUID } from "node:crypto";
import { createConnection } from "node:net";
import { Redis } from "ioredis";
import { afterAll } from "vitest";
import { requireService, testRedisUrl } from "@ops/testkit";
import { pipelinePerSlot, scanKeys, type RedisClient } from "../src/client.js";
import { clusterSeeds, connect } from "./connect.js";

export { clusterSeeds, connect, DEFAULT_TEST_REDIS_CLUSTER } from "./connect.js";

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.setTimeout(1500, () => (s.destroy(), resolve(false)));
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** Whether the Cluster answers: under CI a missing Cluster throws (fail, never skip). */
export async function requireCluster(): Promise<boolean> {
  const seeds = clusterSeeds();
  const ok = (await Promise.all(seeds.map((s) => reachable(s.host, s.port)))).some(Boolean);
  if (ok) return true;
  const msg = `[adapter-redis tests] Redis Cluster is not answering at ${seeds.map((s) => `${s.host}:${s.port}`).join(",")} (start it with .ci/redis-cluster.sh start)`;
  if (process.env.CI) throw new Error(`${msg}: Cluster suites fail under CI instead of skipping`);
  console.warn(`\n!!! ${msg}: SKIPPING the Cluster suites (they fail under CI) !!!\n`);
  return false;
}

export interface Target {
  name: "single server" | "cluster";
  up: boolean;
  /** A new client (callers disconnect it). */
  client(options?: { maxRetriesPerRequest?: number; keyPrefix?: string }): RedisClient;
  /** The address a child process connects to: a redis:// URL or "cluster:<seeds>". */
  address: string;
}

// The failover suite kills a Cluster master: it holds the Cluster exclusively, the other suites
// share it. A readers-writer lock in the single test Redis (keys expire if a holder dies).
const LOCK = "opstest:cluster-lock";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lockClient(): Promise<Redis | null> {
  if (!(await requireService("redis"))) return null;
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: 2 });
}

/** Shares the Cluster for this test file (released after it); waits while a failover suite runs. */
export async function shareCluster(): Promise<void> {
  const r = await lockClient();
  if (!r) return;
  const me = `${LOCK}:reader:${randomUUID()}`;
  const end = Date.now() + 300_000;
  for (;;) {
    await r.set(me, "1", "PX", 600_000);
    if (!(await r.exists(`${LOCK}:writer`)) || Date.now() > end) break;
    await r.del(me);
    await sleep(250);
  }
  afterAll(async () => {
    await r.del(me);
    r.disconnect();
  });
}

/** Holds the Cluster alone (waits for the sharing files to finish); released after this file. */
export async function holdClusterExclusively(): Promise<void> {
  const r = await lockClient();
  if (!r) return;
  const end = Date.now() + 600_000;
  while (!(await r.set(`${LOCK}:writer`, "1", "PX", 300_000, "NX")) && Date.now() < end) await sleep(250);
  while (Date.now() < end) {
    const [, readers] = await r.scan("0", "MATCH", `${LOCK}:reader:*`, "COUNT", 1000);
    if (readers.length === 0) break;
    await sleep(250);
  }
  afterAll(async () => {
    await r.del(`${LOCK}:writer`);
    r.disconnect();
  });
}

/** Both targets; `up` false means skip (locally only: under CI a missing one throws). */
export async function redisTargets(): Promise<Target[]> {
  const single = await requireService("redis");
  const cluster = await requireCluster();
  if (cluster) await shareCluster();
  const singleAddress = testRedisUrl();
  const clusterAddress = `cluster:${clusterSeeds()
    .map((s) => `${s.host}:${s.port}`)
    .join(",")}`;
  return [
    { name: "single server", up: single, address: singleAddress, client: (o) => connect(singleAddress, o) },
    { name: "cluster", up: cluster, address: clusterAddress, client: (o) => connect(clusterAddress, o) },
  ];
}

/** Deletes every key under `prefix` (on every master of a Cluster). */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  const keys = await scanKeys(redis, `${prefix}:*`);
  await pipelinePerSlot(redis, keys, (p, k) => p.del(k));
}

/**
 * `count` fresh tenant ids whose keys live on different masters of a Cluster (on a single server,
 * any `count` ids): cross-tenant reads then have to visit every master.
 */
export async function tenantsOnEveryMaster(
  redis: RedisClient,
  base: string,
  keyOf: (tenant: string) => string,
  count = 3,
): Promise<string[]> {
  if (!(redis as { isCluster?: boolean }).isCluster) return Array.from({ length: count }, (_, i) => `${base}-${i}`);
  const cluster = redis as import("ioredis").Cluster;
  const byMaster = new Map<string, string>();
  for (let i = 0; byMaster.size < count && i < 1000; i++) {
    const tenant = `${base}-${i}`;
    const slot = Number(await cluster.cluster("KEYSLOT", keyOf(tenant)));
    const master = cluster.slots[slot]?.[0];
    if (master && !byMaster.has(master)) byMaster.set(master, tenant);
  }
  if (byMaster.size < count) throw new Error(`only ${byMaster.size} masters found for ${count} tenants`);
  return [...byMaster.values()];
}
