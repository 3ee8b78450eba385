import { ValidationError, type Clock, type OpsStores, type StoreCapabilities } from "@ops/core";
import { POSTGRES_CAPABILITIES, type PgStoreContext } from "./base.js";
import { isPgExecutor, type PgExecutor } from "./executor.js";
import type { PgListener } from "./notifications.js";
import { PgAuditStore } from "./stores/audit-store.js";
import { PgAuthEventStore } from "./stores/auth-event-store.js";
import { PgEffectStore } from "./stores/effect-store.js";
import { PgCounterStore } from "./stores/counter-store.js";
import { PgFlagStore } from "./stores/flag-store.js";
import { PgChangeRequestStore } from "./stores/change-request-store.js";
import { PgIncidentStore } from "./stores/incident-store.js";
import { PgOutboxStore } from "./stores/outbox-store.js";
import { PgSubjectKeyStore } from "./stores/subject-key-store.js";
import { SCHEMA_NAME } from "./tables.js";

export interface PostgresStoresOptions {
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
  /** Overrides of the declared capabilities (tests, or a deployment that lacks one). */
  capabilities?: Partial<StoreCapabilities>;
}

/** Options a shim adds: its name in messages and what a caller's transaction handle is. */
export interface PostgresShimOptions {
  adapter?: string;
  pkg?: string;
  adoptTx?: (tx: unknown) => PgExecutor | null;
  txExpected?: string;
}

export interface PostgresStores extends OpsStores {
  audit: PgAuditStore;
  auditKeys: PgSubjectKeyStore;
  flags: PgFlagStore;
  changeRequests: PgChangeRequestStore;
  incidents: PgIncidentStore;
  authEvents: PgAuthEventStore;
  outbox: PgOutboxStore;
  counters: PgCounterStore;
  effects: PgEffectStore;
}

/**
 * Checks the options every PostgreSQL factory takes and returns the store context.
 * @throws ValidationError naming the bad option.
 */
export function storeContext(exec: PgExecutor, options: PostgresStoresOptions = {}, shim: PostgresShimOptions = {}): PgStoreContext {
  const pkg = shim.pkg ?? "adapter-postgres";
  const invalid = (path: string, message: string) => new ValidationError(`[ops/${pkg}] invalid ${path}: ${message}`, [{ path, message }]);
  const opts = options ?? {};
  if (opts.schema !== undefined && (typeof opts.schema !== "string" || !SCHEMA_NAME.test(opts.schema)))
    throw invalid("options.schema", "expected a PostgreSQL schema name (letters, digits and _, at most 63)");
  if (opts.clock !== undefined && typeof opts.clock?.now !== "function") throw invalid("options.clock", "expected a Clock");
  if (opts.listener !== undefined && typeof opts.listener?.listen !== "function")
    throw invalid("options.listener", "expected a PgListener (nodePgListener, postgresJsListener or pgliteListener)");
  return {
    exec,
    schema: opts.schema,
    pkg,
    clock: opts.clock,
    listener: opts.listener,
    adoptTx: shim.adoptTx,
    txExpected: shim.txExpected,
    capabilities: opts.capabilities,
  };
}

/** Every store over one context (what `postgresStores` and the shims return). */
export function storesFromContext(ctx: PgStoreContext, adapter: string): PostgresStores {
  const stores = {
    audit: new PgAuditStore(ctx),
    auditKeys: new PgSubjectKeyStore(ctx),
    flags: new PgFlagStore(ctx),
    changeRequests: new PgChangeRequestStore(ctx),
    incidents: new PgIncidentStore(ctx),
    authEvents: new PgAuthEventStore(ctx),
    outbox: new PgOutboxStore(ctx),
    counters: new PgCounterStore(ctx),
    effects: new PgEffectStore(ctx),
  };
  return {
    adapter,
    capabilities: Object.freeze({ ...POSTGRES_CAPABILITIES, ...ctx.capabilities, pubsub: stores.flags.capabilities.pubsub }),
    ...stores,
    async close() {
      await Promise.all(Object.values(stores).map((s) => s.close()));
    },
  };
}

/**
 * Every @ops store on PostgreSQL over an executor: `nodePgExecutor(pool)`,
 * `postgresJsExecutor(sql)`, `pgliteExecutor(pglite)`, or your own `PgExecutor`. The stores use
 * the executor's connections; they never open or close connections of their own.
 * @throws ValidationError when `exec` is not an executor or an option is malformed.
 */
export function postgresStores(exec: PgExecutor, options: PostgresStoresOptions = {}): PostgresStores {
  if (!isPgExecutor(exec))
    throw new ValidationError(
      "[ops/adapter-postgres] invalid exec: expected a PgExecutor (nodePgExecutor(pool), postgresJsExecutor(sql) or pgliteExecutor(pglite))",
      [{ path: "exec", message: "expected a PgExecutor" }],
    );
  return storesFromContext(storeContext(exec, options), "postgres");
}
