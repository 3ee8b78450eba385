import { pathToFileURL } from "node:url";
import { join } from "node:path";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { testPgUrl } from "@ops/testkit";
import { opsRoleSetupStatements } from "@ops/adapter-postgres";
import { OPS_MIGRATIONS, type PrismaClientLike } from "../../src/index.js";

/** A generated client as the tests see it: the structural surface plus connect/disconnect. */
export interface TestPrismaClient extends PrismaClientLike {
  $disconnect(): Promise<void>;
  $connect(): Promise<void>;
}
type ClientCtor = new (options: { adapter: PrismaPg; log?: unknown[] }) => TestPrismaClient;

let ctor: Promise<ClientCtor> | undefined;
let clientPath: Promise<string> | undefined;

/** Generates the client if needed and returns the path of its entry (client.ts), for child processes. */
export function loadPrismaClientPath(): Promise<string> {
  clientPath ??= (async () => {
    const script = pathToFileURL(join(import.meta.dirname, "..", "..", "scripts", "generate.mjs")).href;
    const { generate } = (await import(script)) as {
      generate: (o: { quiet: boolean }) => { clientPath: string; generated: boolean; ms: number };
    };
    const result = generate({ quiet: true });
    if (result.generated) console.info(`[ops/adapter-prisma] generated the test client in ${result.ms} ms`);
    return result.clientPath;
  })();
  return clientPath;
}

/**
 * The Prisma client generated from prisma/ops.prisma, generating it first when missing or stale
 * (a clean clone, or the fragment changed). Loaded by path so that typechecking needs no
 * generated code.
 */
export function loadPrismaClient(): Promise<ClientCtor> {
  ctor ??= (async () => {
    const mod = (await import(pathToFileURL(await loadPrismaClientPath()).href)) as { PrismaClient: ClientCtor };
    return mod.PrismaClient;
  })();
  return ctor;
}

export interface TestDatabase {
  /** This test file's own schema; every table lives there. */
  schema: string;
  /** pg pool on the same schema: the raw backdoor and admin work. */
  pool: pg.Pool;
  /** A Prisma client (pg driver adapter) on the schema; pass `url` to go through a proxy. */
  client(options?: { url?: string; max?: number; schema?: string; pooler?: boolean }): Promise<TestPrismaClient>;
  /** Drops the schema and closes every client made here. */
  drop(): Promise<void>;
}

function searchPath(schema: string): string {
  return `-c search_path=${schema}`;
}

/** Creates a schema for one test file, applies the @ops migrations to it, and hands out clients. */
export async function createTestDatabase(tag: string): Promise<TestDatabase> {
  const Client = await loadPrismaClient();
  const schema = `ops_prisma_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`.toLowerCase();
  const url = testPgUrl();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await admin.query(`SET search_path = ${schema}`);
    for (const m of OPS_MIGRATIONS) await admin.query(m.sql);
    // The migrating role (CI: the non-superuser ops_test, owner of the tables, under FORCE RLS)
    // gets the service policy, as the documented service role does, so cross-tenant stores see every row.
    const me = String((await admin.query("SELECT current_user AS me")).rows[0]?.me);
    for (const st of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await admin.query(st);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({ connectionString: url, options: searchPath(schema), max: 4 });
  const clients: TestPrismaClient[] = [];
  return {
    schema,
    pool,
    async client(options = {}) {
      const on = options.schema ?? schema;
      const adapter = new PrismaPg(
        // PgBouncer refuses startup `options`: through it the stores name the schema instead.
        { connectionString: options.url ?? url, ...(options.pooler ? {} : { options: searchPath(on) }), max: options.max ?? 8 },
        { schema: on },
      );
      const client = new Client({ adapter });
      clients.push(client);
      return client;
    },
    async drop() {
      await Promise.allSettled(clients.map((c) => c.$disconnect()));
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    },
  };
}
