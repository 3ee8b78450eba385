// The Redis deployments every suite runs on: a single server (OPS_TEST_REDIS_URL) and a Redis
// Cluster (OPS_TEST_REDIS_CLUSTER, comma-separated host:port seeds; `.ci/redis-cluster.sh start`
// runs one on 127.0.0.1:7101-7106). A missing one skips locally and fails under CI.
import { Cluster, Redis } from "ioredis";
import { createConnection } from "node:net";
import { requireService, testRedisUrl } from "@ops/testkit";
import { pipelinePerSlot, scanKeys, type RedisClient } from "../src/client.js";

export const DEFAULT_TEST_REDIS_CLUSTER = "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103";

export function clusterSeeds(env: Record<string, string | undefined> = process.env): Array<{ host: string; port: number }> {
  return (env.OPS_TEST_REDIS_CLUSTER || DEFAULT_TEST_REDIS_CLUSTER).split(",").map((hp) => {
    const [host, port] = hp.trim().split(":");
    return { host: host || "127.0.0.1", port: Number(port) };
  });
}

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
  client(options?: { maxRetriesPerRequest?: number }): RedisClient;
  /** The address a child process connects to: a redis:// URL or "cluster:<seeds>". */
  address: string;
}

export function connect(address: string, options: { maxRetriesPerRequest?: number } = {}): RedisClient {
  if (address.startsWith("cluster:")) {
    const seeds = clusterSeeds({ OPS_TEST_REDIS_CLUSTER: address.slice("cluster:".length) });
    return new Cluster(seeds, {
      // During a failover the cluster answers CLUSTERDOWN/MOVED for a few seconds: keep retrying.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 200,
      maxRedirections: 64,
      redisOptions: { maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2 },
    });
  }
  return new Redis(address, { maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2 });
}

/** Both targets; `up` false means skip (locally only: under CI a missing one throws). */
export async function redisTargets(): Promise<Target[]> {
  const single = await requireService("redis");
  const cluster = await requireCluster();
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
