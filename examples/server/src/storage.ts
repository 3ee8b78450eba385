import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import {
  drizzleStores,
  drizzleToExecutor,
  nodePgListener,
  pgliteListener,
  setupOpsRoles,
  type DrizzleDatabase,
  type PgListener,
} from "@ops/adapter-drizzle";
import { redisFlagPropagation, redisStores } from "@ops/adapter-redis";
import { applyOpsMigrations, prismaExecutor, prismaStores } from "@ops/adapter-prisma";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  ConfigError,
  type OpsStores,
  type AuditStore,
  type AuthEventStore,
  type CounterStore,
  type EffectStore,
  type FlagStore,
  type IncidentStore,
  type OutboxStore,
  type SubjectKeyStore,
} from "@ops/core";
import type { HealthCheck } from "@ops/health";
import { drizzleCheck, prismaCheck, redisCheck } from "@ops/health";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { migrate as migrateNodePg } from "drizzle-orm/node-postgres/migrator";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { Redis } from "ioredis";
import pg from "pg";
import type { ServiceConfig } from "./config.js";
import { loadPrismaClientClass } from "./prisma-client.js";

/** The stores the service runs on, and what backs them (for /health and the start-up line). */
export interface ServiceStorage {
  /** e.g. "pglite (drizzle)", "postgresql (drizzle)"; plus " + redis" when Redis is on. */
  describe: string;
  audit: AuditStore;
  auditKeys: SubjectKeyStore;
  flags: FlagStore;
  incidents: IncidentStore;
  authEvents: AuthEventStore;
  outbox: OutboxStore;
  counters: CounterStore;
  /** The transactional outbox of the SQL database (audit entries and notifications committed with flag and incident writes). */
  effects: EffectStore | undefined;
  /** Readiness checks of every backend. */
  checks: HealthCheck[];
  close(): Promise<void>;
}

/** The drizzle-kit migrations shipped by @ops/adapter-drizzle (journal included). */
export function drizzleMigrationsFolder(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@ops/adapter-drizzle/package.json")), "migrations");
}

type Exec = Parameters<typeof setupOpsRoles>[0];

/**
 * The one-role deployment (one DATABASE_URL that migrates and serves, as here): a role that owns
 * the @ops tables is still under FORCE ROW LEVEL SECURITY, so the owner gives itself the service
 * policy (`opsRoleSetupSql({ service })`, idempotent) for the cross-tenant work this process does
 * (detection ticks, outbox relay, flag snapshot). With separate owner / app / service roles your
 * DBA runs `opsRoleSetupSql` instead and this does nothing (the serving role owns nothing).
 * Superusers (PGlite, a local server) bypass RLS and need nothing.
 */
async function serveAsOwner(exec: Exec): Promise<void> {
  const [r] = await exec.query(
    `SELECT current_user::text AS me, current_schema()::text AS schema, r.rolsuper AS su,
       pg_has_role(current_user, c.relowner, 'USAGE') AS owns
     FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('ops_flags') WHERE r.rolname = current_user`,
    [],
  );
  if (r && r.owns === true && r.su !== true)
    await setupOpsRoles(exec, { service: String(r.me), schema: String(r.schema), createRoles: false });
}

/**
 * Opens the database the config names and applies the @ops migrations. PGlite on disk when no
 * `DATABASE_URL`; PostgreSQL through Drizzle (node-postgres; Drizzle's migrator records what ran,
 * so restarts apply nothing twice; flag changes reach other instances by LISTEN/NOTIFY) or, with `OPS_DB_DRIVER=prisma`, through a Prisma 7 client
 * (driver adapter `@prisma/adapter-pg`, no engine binary). With `REDIS_URL`, flag changes propagate
 * through Redis pub/sub (flags stay in the database) and detection counters (shared between
 * instances) move to Redis.
 * @throws ConfigError for prisma without DATABASE_URL; connection errors from the database.
 */
export async function openStorage(config: ServiceConfig): Promise<ServiceStorage> {
  if (config.dbDriver === "prisma" && !config.databaseUrl)
    throw new ConfigError(
      "[ops/example-server] invalid environment: DATABASE_URL: required when OPS_DB_DRIVER=prisma (PGlite runs through Drizzle)",
      [{ path: "DATABASE_URL", message: "required when OPS_DB_DRIVER=prisma" }],
    );
  const closers: Array<() => Promise<unknown>> = [];
  let sql: OpsStores & Required<Pick<OpsStores, "audit" | "auditKeys" | "flags" | "incidents" | "authEvents" | "outbox" | "counters">>;
  let describe: string;
  const checks: HealthCheck[] = [];
  try {
    if (config.databaseUrl && config.dbDriver === "prisma") {
      const PrismaClient = await loadPrismaClientClass();
      const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: config.databaseUrl }) });
      closers.push(() => prisma.$disconnect());
      const [row] = await prisma.$queryRawUnsafe<Array<{ present: boolean }>>(
        "SELECT to_regclass('ops_audit_entries') IS NOT NULL AS present",
      );
      if (!row?.present) await applyOpsMigrations(prisma);
      await serveAsOwner(prismaExecutor(prisma));
      const ps = prismaStores(prisma);
      sql = ps;
      // The start-up role check: a role that would see nothing fails the boot, naming what is missing.
      await ps.ready();
      checks.push(prismaCheck(prisma as unknown as Parameters<typeof prismaCheck>[0], { name: "database" }));
      describe = "postgresql (prisma, @prisma/adapter-pg)";
    } else {
      let db: DrizzleDatabase;
      let listener: PgListener;
      if (config.databaseUrl) {
        const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
        // An idle client losing its connection must not crash the process: the pool replaces it.
        pool.on("error", () => {});
        closers.push(() => pool.end());
        const nodeDb = drizzleNodePg(pool);
        await migrateNodePg(nodeDb, { migrationsFolder: drizzleMigrationsFolder() });
        db = nodeDb as unknown as DrizzleDatabase;
        await serveAsOwner(drizzleToExecutor(db));
        // A dedicated connection LISTENs for flag changes (LISTEN does not survive a pool).
        const listen = new pg.Client({ connectionString: config.databaseUrl });
        listen.on("error", () => {});
        await listen.connect();
        closers.push(() => listen.end());
        listener = nodePgListener(listen);
        describe = "postgresql (drizzle, node-postgres, LISTEN/NOTIFY)";
      } else {
        mkdirSync(config.dataDir, { recursive: true });
        const client = new PGlite(config.dataDir);
        closers.push(() => client.close());
        const liteDb = drizzlePglite(client);
        await migratePglite(liteDb, { migrationsFolder: drizzleMigrationsFolder() });
        db = liteDb as unknown as DrizzleDatabase;
        listener = pgliteListener(client);
        describe = "pglite (drizzle, embedded)";
      }
      const dz = drizzleStores(db, { listener });
      sql = dz;
      // The start-up role check: a role that would see nothing fails the boot, naming what is missing.
      await dz.ready();
      checks.push(drizzleCheck(db as unknown as Parameters<typeof drizzleCheck>[0], { name: "database" }));
    }
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => {});
    throw err;
  }
  closers.unshift(() => sql.close());
  let flags: FlagStore = sql.flags;
  let counters: CounterStore = sql.counters;
  if (config.redisUrl) {
    // Reconnect attempts at most 1 s apart (ioredis' default grows to 2 s): after an outage,
    // buffered counts and flag notifications flow again within a second of Redis' return.
    const redis = new Redis(config.redisUrl, {
      maxRetriesPerRequest: 1,
      retryStrategy: (n) => Math.min(50 * 2 ** Math.min(n - 1, 16), 1_000),
    });
    redis.on("error", () => {}); // reported by the readiness check, not as an unhandled event
    const r = redisStores(redis, { prefix: config.redisPrefix });
    // Flags stay in the database (the source of truth); Redis only carries their change
    // notifications, so a Redis restarted empty loses no flag. Counters are shared in Redis.
    flags = redisFlagPropagation(sql.flags, redis, { prefix: config.redisPrefix });
    counters = r.counters;
    closers.unshift(
      () => r.close(),
      () => redis.quit(),
    );
    checks.push(redisCheck(redis, { name: "redis" }));
    describe += " + redis (flag propagation, counters)";
  }
  let closed = false;
  return {
    describe,
    audit: sql.audit,
    auditKeys: sql.auditKeys,
    flags,
    incidents: sql.incidents,
    authEvents: sql.authEvents,
    outbox: sql.outbox,
    counters,
    effects: sql.effects,
    checks,
    async close() {
      if (closed) return;
      closed = true;
      for (const c of closers) await c().catch(() => {});
    },
  };
}
