import { ConfigError, type ChangeRequestStore, type FlagStore } from "@ops/core";

export interface CliStores {
  flags: FlagStore;
  changeRequests?: ChangeRequestStore;
  close(): Promise<void>;
}

/**
 * Opens the stores the CLI works on, from the environment: `REDIS_URL` (with `OPS_REDIS_PREFIX`,
 * default "ops") through `@ops/adapter-redis`. Adapters are loaded on demand (optional peers).
 * @throws ConfigError when no backend is configured
 */
export async function openStores(env: NodeJS.ProcessEnv): Promise<CliStores> {
  if (env.REDIS_URL) {
    const [{ Redis }, { redisStores }] = await Promise.all([import("ioredis"), import("@ops/adapter-redis")]);
    const redis = new Redis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
    const stores = redisStores(redis, { prefix: env.OPS_REDIS_PREFIX ?? "ops" });
    return {
      flags: stores.flags,
      changeRequests: stores.changeRequests,
      async close() {
        await stores.close();
        redis.disconnect();
      },
    };
  }
  if (env.DATABASE_URL)
    throw new ConfigError("[ops/flags] DATABASE_URL: the PostgreSQL backend of ops-flags comes with the shared PostgreSQL store; use REDIS_URL for now", [
      { path: "DATABASE_URL", message: "not supported yet" },
    ]);
  throw new ConfigError("[ops/flags] no store configured: set REDIS_URL (or DATABASE_URL)", [{ path: "REDIS_URL", message: "required" }]);
}
