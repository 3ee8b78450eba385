// Opens a client for a test address: a redis:// URL or "cluster:<host:port,...>". No test-runner
// imports here: child processes (fixtures) use it too.
import { Cluster, Redis } from "ioredis";
import type { RedisClient } from "../src/client.js";

export const DEFAULT_TEST_REDIS_CLUSTER = "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103";

export function clusterSeeds(env: Record<string, string | undefined> = process.env): Array<{ host: string; port: number }> {
  return (env.OPS_TEST_REDIS_CLUSTER || DEFAULT_TEST_REDIS_CLUSTER).split(",").map((hp) => {
    const [host, port] = hp.trim().split(":");
    return { host: host || "127.0.0.1", port: Number(port) };
  });
}

export function connect(address: string, options: { maxRetriesPerRequest?: number; keyPrefix?: string } = {}): RedisClient {
  if (address.startsWith("cluster:")) {
    const seeds = clusterSeeds({ OPS_TEST_REDIS_CLUSTER: address.slice("cluster:".length) });
    return new Cluster(seeds, {
      // During a failover the cluster answers CLUSTERDOWN/MOVED for a few seconds: keep retrying.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 200,
      maxRedirections: 64,
      redisOptions: { maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2 },
      ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
    });
  }
  return new Redis(address, {
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
  });
}
