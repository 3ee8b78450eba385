import {
  POSTGRES_CAPABILITIES,
  PgAuditStore,
  PgAuthEventStore,
  PgCounterStore,
  PgFlagStore,
  PgIncidentStore,
  PgOutboxStore,
  PgSubjectKeyStore,
  mapPgError,
  storeContext,
  storesFromContext,
  type PgListener,
  type PgPropagationOptions,
  type PgStoreContext,
  type PostgresStores,
} from "@ops/adapter-postgres";
import { ValidationError, type Clock, type StoreCapabilities } from "@ops/core";
import { getTableConfig } from "drizzle-orm/pg-core";
import { adoptDrizzleTx, drizzleToExecutor, type DrizzleDatabase } from "./db.js";
import type { OpsTables } from "./schema.js";

const PKG = "adapter-drizzle";
const TX_EXPECTED = "a Drizzle transaction (the `tx` of db.transaction(async (tx) => ...))";

/** What the Drizzle adapter can do (the PostgreSQL store's capabilities; pubsub with a `listener`). */
export const DRIZZLE_CAPABILITIES: StoreCapabilities = POSTGRES_CAPABILITIES;

export interface DrizzleStoresOptions {
  /**
   * PostgreSQL schema holding the @ops tables (default: unqualified names, resolved by the
   * connection's `search_path`). Apply the migrations in that schema.
   */
  schema?: string;
  /** Time source for the timestamps the stores set themselves (`FlagRecord.updatedAt`). */
  clock?: Clock;
  /**
   * A LISTEN connection (`nodePgListener(client)`, `postgresJsListener(sql)`, `pgliteListener(pglite)`):
   * enables `flags.subscribe` (`capabilities.pubsub`), fed by PostgreSQL NOTIFY from every process.
   */
  listener?: PgListener;
  /**
   * Flag propagation from a connection string that reaches PostgreSQL directly (or through a
   * session-mode pooler): the flag store opens ONE dedicated LISTEN connection (`pg` package),
   * reconnects it after a loss and ends it on `close()`. Use it when `db` goes through a
   * transaction pooler (PgBouncer, Supabase's or Neon's pooler, RDS Proxy): LISTEN hears nothing
   * there. Ignored when `listener` is given.
   */
  listenUrl?: string;
  /** Self-probe and polling fallback of flag propagation (see `PgPropagationOptions`). */
  propagation?: PgPropagationOptions;
  /** Where warnings go (default `console.warn`); they never carry a URL or credentials. */
  onWarning?: (message: string) => void;
  /**
   * The start-up role check (default on; see @ops/adapter-postgres `PostgresStoresOptions.roleCheck`):
   * a role that would see nothing (RLS on, no tenant set, no service policy), a missing grant or
   * missing tables make every call reject with `OpsRoleError` naming the role; `await
   * stores.ready()` runs it at start-up. `{ refuseSuperuser: true }` also refuses superusers;
   * `false` skips it.
   */
  roleCheck?: boolean | { refuseSuperuser?: boolean };
}

export interface DrizzleStores extends PostgresStores {
  audit: DrizzleAuditStore;
  auditKeys: DrizzleSubjectKeyStore;
  flags: DrizzleFlagStore;
  incidents: DrizzleIncidentStore;
  authEvents: DrizzleAuthEventStore;
  outbox: DrizzleOutboxStore;
  counters: DrizzleCounterStore;
}

function context(db: DrizzleDatabase, options: DrizzleStoresOptions = {}): PgStoreContext {
  const d = db as Partial<DrizzleDatabase> | null;
  if (typeof d?.execute !== "function" || typeof d.transaction !== "function")
    throw new ValidationError(
      `[ops/${PKG}] invalid db: expected a Drizzle PostgreSQL database (drizzle(pool), drizzle(postgres(...)) or drizzle(pglite))`,
      [{ path: "db", message: "expected a Drizzle PostgreSQL database" }],
    );
  return storeContext(drizzleToExecutor(db), options, { pkg: PKG, adoptTx: adoptDrizzleTx, txExpected: TX_EXPECTED });
}

/**
 * Every @ops store over the app's own Drizzle PostgreSQL database: node-postgres, postgres.js or
 * PGlite. The stores are @ops/adapter-postgres's, run on the driver Drizzle wraps; they never
 * open or close connections of their own.
 * @throws ValidationError when `db` is not a Drizzle database or an option is malformed.
 */
export function drizzleStores(db: DrizzleDatabase, options: DrizzleStoresOptions = {}): DrizzleStores {
  return storesFromContext(context(db, options), "drizzle");
}

/** A store on its own: `new DrizzleAuditStore({ db, tables: createOpsTables(schema) })`. */
export interface DrizzleStoreContext {
  db: DrizzleDatabase;
  tables: OpsTables;
  clock?: Clock;
  listener?: PgListener;
}
const single = (c: DrizzleStoreContext): PgStoreContext => {
  const schema = getTableConfig(c.tables.flags).schema;
  return context(c.db, {
    ...(schema ? { schema } : {}),
    ...(c.clock ? { clock: c.clock } : {}),
    ...(c.listener ? { listener: c.listener } : {}),
  });
};
export class DrizzleAuditStore extends PgAuditStore {
  constructor(c: DrizzleStoreContext) {
    super(single(c));
  }
}
export class DrizzleSubjectKeyStore extends PgSubjectKeyStore {
  constructor(c: DrizzleStoreContext) {
    super(single(c));
  }
}
export class DrizzleFlagStore extends PgFlagStore {
  constructor(c: DrizzleStoreContext) {
    super(single(c));
  }
}
export class DrizzleIncidentStore extends PgIncidentStore {
  constructor(c: DrizzleStoreContext) {
    super(single(c));
  }
}
export class DrizzleAuthEventStore extends PgAuthEventStore {
  constructor(c: DrizzleStoreContext) {
    super(single(c));
  }
}
export class DrizzleOutboxStore extends PgOutboxStore {
  constructor(c: DrizzleStoreContext) {
    super(single(c));
  }
}
export class DrizzleCounterStore extends PgCounterStore {
  constructor(c: DrizzleStoreContext) {
    super(single(c));
  }
}

/** Maps a driver error to a typed @ops error (the PostgreSQL store's mapper, named for Drizzle). */
export function mapDbError(err: unknown, what: string): unknown {
  return mapPgError(err, what, PKG);
}
