import { readFileSync, readdirSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { FlagStore } from "@ops/core";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { drizzleStores, nodePgListener, opsRoleSetupStatements } from "@ops/adapter-drizzle";
import { redisStores } from "@ops/adapter-redis";
import { testPgUrl, testRedisUrl } from "@ops/testkit";
import { drizzle } from "drizzle-orm/node-postgres";
import { Redis } from "ioredis";
import pg from "pg";

/** One connection set to a backend, for one scenario. `lose`/`restore` cut and bring back the network. */
export interface Connection {
  store: FlagStore;
  lose(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export interface Backend {
  name: string;
  /** Capabilities this backend cannot offer, with the reason (scenarios needing them are skipped). */
  lacks: Record<string, string>;
  /** The store the canonical flags are seeded through, and changes are made through. */
  admin: FlagStore;
  /** A fresh connection set for one scenario, through a TCP proxy the test controls. */
  open(): Promise<Connection>;
  /** A connection set to a backend that is not there (connection refused). */
  openUnavailable(): Promise<Connection>;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real server: `down()` drops every connection and
 * refuses new ones (the network to the backend is lost), `up()` listens again on the same port.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly host: string,
    private readonly upstreamPort: number,
  ) {}

  async up(): Promise<this> {
    if (this.server) return this;
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.host, port: this.upstreamPort });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Settles within `ms` whatever `p` does (closing a client over a dead network may never finish). */
async function bounded(p: Promise<unknown>, ms = 2000): Promise<void> {
  await Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, ms).unref())]);
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const p = await new TcpProxy("127.0.0.1", 1).up();
  const port = p.port;
  await p.down();
  return port;
}

export function memoryBackend(): Backend {
  const store = new MemoryFlagStore();
  const why = "the in-process memory store has no connection or server: it cannot be unreachable, so there is no outage to report";
  return {
    name: "memory",
    lacks: { "@stale": why, "@unavailable": why },
    admin: store,
    open: async () => ({ store, lose: async () => {}, restore: async () => {}, close: async () => {} }),
    openUnavailable: () => Promise.reject(new Error("memory has no unavailable mode")),
    close: async () => {},
  };
}

const MIGRATIONS = fileURLToPath(new URL("../../../adapters/drizzle/migrations/", import.meta.url));

export async function postgresBackend(): Promise<Backend> {
  const url = new URL(testPgUrl());
  const schema = `ops_tck_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  const setup = new pg.Client({ connectionString: url.toString() });
  await setup.connect();
  await setup.query(`CREATE SCHEMA "${schema}"`);
  await setup.query(`SET search_path TO "${schema}"`);
  const statements = readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .flatMap((f) => readFileSync(MIGRATIONS + f, "utf8").split("--> statement-breakpoint"))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const s of statements) await setup.query(s);
  // The migrating role (CI: the non-superuser ops_test, owner under FORCE RLS) gets the service policy.
  const me = String((await setup.query("SELECT current_user AS me")).rows[0]?.me);
  for (const s of opsRoleSetupStatements({ schema, service: me, createRoles: false })) await setup.query(s);
  await setup.end();

  const adminPool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  adminPool.on("error", () => {});
  const admin = drizzleStores(drizzle(adminPool), { schema }).flags;

  const connect = async (port: number, proxy: TcpProxy | null): Promise<Connection> => {
    const u = new URL(url.toString());
    u.hostname = "127.0.0.1";
    u.port = String(port);
    const pool = new pg.Pool({ connectionString: u.toString(), max: 4, connectionTimeoutMillis: 1000 });
    pool.on("error", () => {});
    const listenClient = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 1000 });
    listenClient.on("error", () => {});
    const listening = await listenClient.connect().then(
      () => true,
      () => false,
    );
    const stores = drizzleStores(drizzle(pool), { schema, ...(listening ? { listener: nodePgListener(listenClient) } : {}) });
    return {
      store: stores.flags,
      lose: async () => void (await proxy?.down()),
      restore: async () => void (await proxy?.up()),
      close: async () => {
        await bounded(stores.close());
        await bounded(listenClient.end());
        await bounded(pool.end());
        await proxy?.down();
      },
    };
  };

  return {
    name: "postgres",
    lacks: {},
    admin,
    open: async () => {
      const proxy = await new TcpProxy(url.hostname || "127.0.0.1", Number(url.port || 5432)).up();
      return connect(proxy.port, proxy);
    },
    openUnavailable: async () => connect(await closedPort(), null),
    close: async () => {
      await bounded(admin.close());
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
      await adminPool.end();
    },
  };
}

export async function redisBackend(): Promise<Backend> {
  const url = new URL(testRedisUrl());
  const prefix = `ops-tck-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const host = url.hostname || "127.0.0.1";
  const adminClient = new Redis(url.toString(), { lazyConnect: false });
  adminClient.on("error", () => {});
  const admin = redisStores(adminClient, { prefix }).flags;

  const connect = (port: number, proxy: TcpProxy | null): Connection => {
    const client = new Redis({
      host: "127.0.0.1",
      port,
      password: url.password || undefined,
      retryStrategy: () => 100,
      maxRetriesPerRequest: 2,
    });
    client.on("error", () => {});
    const stores = redisStores(client, { prefix, flagPollIntervalMs: 200 });
    return {
      store: stores.flags,
      lose: async () => void (await proxy?.down()),
      restore: async () => void (await proxy?.up()),
      close: async () => {
        await bounded(stores.close());
        client.disconnect();
        await proxy?.down();
      },
    };
  };

  return {
    name: "redis",
    lacks: {},
    admin,
    open: async () => {
      const proxy = await new TcpProxy(host, Number(url.port || 6379)).up();
      return connect(proxy.port, proxy);
    },
    openUnavailable: async () => connect(await closedPort(), null),
    close: async () => {
      await bounded(admin.close());
      let cursor = "0";
      do {
        const [next, keys] = await adminClient.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
        cursor = next;
        if (keys.length > 0) await adminClient.del(...keys);
      } while (cursor !== "0");
      adminClient.disconnect();
    },
  };
}
