import { ConfigError, type ChangeRequestStore, type FlagStore } from "@ops/core";

export interface CliStores {
  flags: FlagStore;
  changeRequests?: ChangeRequestStore;
  close(): Promise<void>;
}

/**
 * Opens the stores the CLI works on, from the environment: `DATABASE_URL` (PostgreSQL, with
 * `OPS_PG_SCHEMA` when the @ops tables live in a schema) through `@ops/adapter-postgres` and `pg`,
 * or `REDIS_URL` (with `OPS_REDIS_PREFIX`, default "ops") through `@ops/adapter-redis`. Adapters
 * are loaded on demand (optional peers). `DATABASE_URL` wins when both are set.
 * @throws ConfigError when no backend is configured
 */
export async function openStores(env: NodeJS.ProcessEnv): Promise<CliStores> {
  if (env.DATABASE_URL) {
    const [{ default: pg }, { postgresStores, nodePgExecutor }] = await Promise.all([import("pg"), import("@ops/adapter-postgres")]);
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
    const stores = postgresStores(nodePgExecutor(pool), env.OPS_PG_SCHEMA ? { schema: env.OPS_PG_SCHEMA } : {});
    return {
      flags: stores.flags,
      changeRequests: stores.changeRequests,
      async close() {
        await stores.close();
        await pool.end();
      },
    };
  }
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
  throw new ConfigError("[ops/flags] no store configured: set REDIS_URL (or DATABASE_URL)", [{ path: "REDIS_URL", message: "required" }]);
}
