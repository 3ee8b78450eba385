// Helpers of the scale cases: call counting, service probes, key cleanup.
import { createConnection } from "node:net";
import type { Redis } from "ioredis";
import pg from "pg";
import { applyOpsMigrations, nodePgExecutor, postgresStores, setupOpsRoles } from "@ops/adapter-postgres";

/** Wraps a store so that every method call is counted (`calls.n`). */
export function counted<S extends object>(store: S, calls: { n: number }): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || prop === "close") return v;
      return (...args: unknown[]) => {
        calls.n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export function tcpUp(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || defaultPort) });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** Deletes every key under `prefix` (the bench's own prefix only). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
}

export const mb = (bytes: number) => Math.round(bytes / 1048576);

/**
 * A scratch schema for one bench run on `url`, migrated, with the @ops stores. The connecting role
 * gets the service policy (`setupOpsRoles`), so a non-superuser (CI's ops_test) reads and writes
 * every tenant's rows as a worker does. `done()` closes the stores and drops the schema.
 */
export async function pgScratch(
  url: string,
  schema: string,
  poolMax = 10,
): Promise<{ stores: ReturnType<typeof postgresStores>; done: () => Promise<void> }> {
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const pool = new pg.Pool({ connectionString: url, max: poolMax, options: `-c search_path="${schema}"` });
  const exec = nodePgExecutor(pool);
  await applyOpsMigrations(exec);
  const me = (await admin.query<{ me: string }>("SELECT current_user AS me")).rows[0]!.me;
  await setupOpsRoles(exec, { schema, service: me, createRoles: false });
  const stores = postgresStores(exec, { schema });
  return {
    stores,
    done: async () => {
      await stores.close();
      await pool.end();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

/** `OPS_BENCH_BACKENDS=postgres,redis` runs only those backends of a scale case (default: all). */
export function backendOn(name: "memory" | "postgres" | "redis"): boolean {
  const only = process.env.OPS_BENCH_BACKENDS?.split(",").map((x) => x.trim());
  return !only || only.includes(name);
}
