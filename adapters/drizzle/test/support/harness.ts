import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { opsRoleSetupStatements } from "@ops/adapter-postgres";
import { pgBackdoors, testPgBouncerUrl, testPgUrl } from "@ops/testkit";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import {
  drizzleStores,
  drizzleToExecutor,
  nodePgListener,
  pgUrlListener,
  pgliteListener,
  postgresJsListener,
  type DrizzleDatabase,
  type DrizzleStores,
  type PgListener,
} from "../../src/index.js";

const MIGRATIONS = fileURLToPath(new URL("../../migrations/", import.meta.url));

/** The committed migrations, statement by statement, in order (what a user applies). */
export function migrationStatements(): string[] {
  return readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .flatMap((f) => readFileSync(MIGRATIONS + f, "utf8").split("--> statement-breakpoint"))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * A driver, straight on PostgreSQL or (`+pgbouncer`) through PgBouncer in transaction mode
 * (`OPS_TEST_PGBOUNCER_URL`): there postgres.js runs with `prepare: false` and LISTEN uses a direct
 * connection (`pgUrlListener`, what the `listenUrl` option makes), as the README says.
 */
export type DriverName = "node-postgres" | "postgres.js" | "pglite" | "node-postgres+pgbouncer" | "postgres.js+pgbouncer";

export interface Harness {
  driver: DriverName;
  db: DrizzleDatabase;
  stores: DrizzleStores;
  /** PostgreSQL schema holding the tables (undefined for PGlite: its own database). */
  schema: string | undefined;
  /** A LISTEN connection for flag change notifications. */
  listener: PgListener;
  close(): Promise<void>;
}

/** A fresh PostgreSQL schema with the migrations applied, dropped again by `drop`. */
export async function createPgSchema(tag: string): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `ops_dz_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  const client = new pg.Client({ connectionString: testPgUrl() });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`SET search_path TO "${schema}"`);
    for (const statement of migrationStatements()) await client.query(statement);
    // The migrating role (CI: the non-superuser ops_test, owner of the tables, under FORCE RLS)
    // gets the service policy, as the documented service role does, so cross-tenant stores see every row.
    const me = String((await client.query("SELECT current_user AS me")).rows[0]?.me);
    for (const s of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await client.query(s);
  } finally {
    await client.end();
  }
  return {
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: testPgUrl() });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
}

/** One database per driver: PostgreSQL through node-postgres / postgres.js, or an in-process PGlite. */
export async function createHarness(driver: DriverName, tag: string): Promise<Harness> {
  if (driver === "pglite") {
    const client = new PGlite();
    await client.exec(migrationStatements().join(";\n"));
    const db = drizzlePglite(client);
    const stores = drizzleStores(db);
    const listener = pgliteListener(client);
    return { driver, db, stores, schema: undefined, listener, close: async () => void (await stores.close(), await client.close()) };
  }
  const { schema, drop } = await createPgSchema(tag);
  const pooled = driver.endsWith("+pgbouncer");
  const url = pooled ? testPgBouncerUrl() : testPgUrl();
  if (!url) throw new Error("OPS_TEST_PGBOUNCER_URL is not set");
  if (driver.startsWith("node-postgres")) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    const db = drizzleNodePg(pool);
    const stores = drizzleStores(db, { schema });
    if (pooled) {
      const listener = pgUrlListener(testPgUrl());
      return { driver, db, stores, schema, listener, close: async () => void (await stores.close(), await pool.end(), await drop()) };
    }
    const listenClient = new pg.Client({ connectionString: testPgUrl() });
    await listenClient.connect();
    const listener = nodePgListener(listenClient);
    return {
      driver,
      db,
      stores,
      schema,
      listener,
      close: async () => void (await stores.close(), await listenClient.end(), await pool.end(), await drop()),
    };
  }
  const client = postgres(url, { max: 10, onnotice: () => {}, ...(pooled ? { prepare: false } : {}) });
  const db = drizzlePostgresJs(client);
  const stores = drizzleStores(db, { schema });
  const listener = pooled ? pgUrlListener(testPgUrl()) : postgresJsListener(client);
  return { driver, db, stores, schema, listener, close: async () => void (await stores.close(), await client.end(), await drop()) };
}

/** Lazily opened harnesses, one per driver, shared by the cases of one test file. */
export function lazyHarness(driver: DriverName, tag: string): { get: () => Promise<Harness>; close: () => Promise<void> } {
  let opened: Promise<Harness> | undefined;
  return {
    get: () => (opened ??= createHarness(driver, tag)),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}

/**
 * The conformance backdoors (plain SQL on the @ops tables, never the stores' reads) of @ops/testkit,
 * over the harness's own database.
 */
export function backdoors(h: Harness): ReturnType<typeof pgBackdoors> {
  return pgBackdoors(drizzleToExecutor(h.db), h.schema);
}
