import { ValidationError, type Clock, type OpsStores } from "@ops/core";
import { DrizzleAuditStore } from "./audit-store.js";
import { DrizzleAuthEventStore } from "./auth-event-store.js";
import { DRIZZLE_CAPABILITIES, type DrizzleStoreContext } from "./base.js";
import { DrizzleCounterStore } from "./counter-store.js";
import type { DrizzleDatabase } from "./db.js";
import { DrizzleFlagStore } from "./flag-store.js";
import { DrizzleIncidentStore } from "./incident-store.js";
import { DrizzleOutboxStore } from "./outbox-store.js";
import { createOpsTables } from "./schema.js";
import type { PgListener } from "./notifications.js";
import { DrizzleSubjectKeyStore } from "./subject-key-store.js";

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
}

export interface DrizzleStores extends OpsStores {
  audit: DrizzleAuditStore;
  auditKeys: DrizzleSubjectKeyStore;
  flags: DrizzleFlagStore;
  incidents: DrizzleIncidentStore;
  authEvents: DrizzleAuthEventStore;
  outbox: DrizzleOutboxStore;
  counters: DrizzleCounterStore;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`[ops/adapter-drizzle] invalid ${path}: ${message}`, [{ path, message }]);
}

/**
 * Every @ops store over the app's own Drizzle PostgreSQL database: node-postgres, postgres.js or
 * PGlite. The stores use the database; they never open or close connections of their own.
 * @throws ValidationError when `db` is not a Drizzle database or an option is malformed.
 */
export function drizzleStores(db: DrizzleDatabase, options: DrizzleStoresOptions = {}): DrizzleStores {
  const d = db as Partial<DrizzleDatabase> | null;
  if (typeof d?.execute !== "function" || typeof d.transaction !== "function")
    throw invalid("db", "expected a Drizzle PostgreSQL database (drizzle(pool), drizzle(postgres(...)) or drizzle(pglite))");
  const opts = options ?? {};
  if (opts.schema !== undefined && (typeof opts.schema !== "string" || !SCHEMA_NAME.test(opts.schema)))
    throw invalid("options.schema", "expected a PostgreSQL schema name (letters, digits, _ and $, at most 63)");
  if (opts.clock !== undefined && typeof opts.clock?.now !== "function") throw invalid("options.clock", "expected a Clock");
  if (opts.listener !== undefined && typeof opts.listener?.listen !== "function")
    throw invalid("options.listener", "expected a PgListener (nodePgListener, postgresJsListener or pgliteListener)");
  const ctx: DrizzleStoreContext = { db, tables: createOpsTables(opts.schema) };
  const stores = {
    audit: new DrizzleAuditStore(ctx),
    auditKeys: new DrizzleSubjectKeyStore(ctx),
    flags: new DrizzleFlagStore({
      ...ctx,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.listener ? { listener: opts.listener } : {}),
      ...(opts.schema !== undefined ? { schema: opts.schema } : {}),
    }),
    incidents: new DrizzleIncidentStore(ctx),
    authEvents: new DrizzleAuthEventStore(ctx),
    outbox: new DrizzleOutboxStore(ctx),
    counters: new DrizzleCounterStore(ctx),
  };
  return {
    adapter: "drizzle",
    capabilities: stores.flags.capabilities.pubsub ? Object.freeze({ ...DRIZZLE_CAPABILITIES, pubsub: true }) : DRIZZLE_CAPABILITIES,
    ...stores,
    async close() {
      await Promise.all(Object.values(stores).map((s) => s.close()));
    },
  };
}
