import { ValidationError, type Clock, type OpsStores, type StoreCapabilities } from "@ops/core";
import { POSTGRES_CAPABILITIES, RoleGate, type PgPropagationOptions, type PgStoreContext } from "./base.js";
import { assertOpsRoles, type OpsRoleReport } from "./roles.js";
import { isPgExecutor, type PgExecutor } from "./executor.js";
import { pgUrlListener, type PgListener } from "./notifications.js";
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
  /**
   * Flag propagation from a connection string that reaches PostgreSQL directly (or through a
   * session-mode pooler): the flag store opens ONE dedicated LISTEN connection of its own
   * (`pgUrlListener`, the `pg` package), reconnects it after a loss and ends it on `close()`. Use
   * it when the app's own connections go through a transaction pooler, where LISTEN hears nothing.
   * Ignored when `listener` is given.
   */
  listenUrl?: string;
  /** Self-probe and polling fallback of flag propagation (see `PgPropagationOptions`). */
  propagation?: PgPropagationOptions;
  /** Where warnings go (default `console.warn`); they never carry a URL or credentials. */
  onWarning?: (message: string) => void;
  /** Overrides of the declared capabilities (tests, or a deployment that lacks one). */
  capabilities?: Partial<StoreCapabilities>;
  /**
   * The start-up role check (default on): before the bundle's first statement, one read-only query
   * asks PostgreSQL whether the connecting role can see what the stores ask for. When it cannot
   * (row-level security on and no tenant set and no service policy, a missing grant, missing
   * tables, or a superuser with `refuseSuperuser`), every call rejects with `OpsRoleError` naming
   * the role and what is missing, instead of returning empty results. `await stores.ready()` runs
   * it at start-up. `{ refuseSuperuser: true }` also refuses superuser and BYPASSRLS roles
   * (recommended in production). `false` skips it (a bundle built per transaction after one
   * checked bundle at start-up).
   */
  roleCheck?: boolean | { refuseSuperuser?: boolean };
}

/** Options a shim adds: its name in messages and what a caller's transaction handle is. */
export interface PostgresShimOptions {
  adapter?: string;
  pkg?: string;
  adoptTx?: (tx: unknown) => PgExecutor | null;
  txExpected?: string;
}

export interface PostgresStores extends OpsStores {
  /**
   * Runs the role check now (once per bundle) and resolves with its report (undefined with
   * `roleCheck: false`). Call it at start-up so a misconfigured role fails the boot.
   * @throws OpsRoleError naming the role and what is missing; UnavailableError when the database is down.
   */
  ready(): Promise<OpsRoleReport | undefined>;
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
  if (opts.listenUrl !== undefined && (typeof opts.listenUrl !== "string" || !/^postgres(?:ql)?:\/\//.test(opts.listenUrl)))
    throw invalid("options.listenUrl", "expected a postgres:// connection string");
  if (opts.onWarning !== undefined && typeof opts.onWarning !== "function") throw invalid("options.onWarning", "expected a function");
  const prop = opts.propagation;
  if (prop !== undefined && (typeof prop !== "object" || prop === null)) throw invalid("options.propagation", "expected an object");
  for (const k of ["pollIntervalMs", "probeTimeoutMs", "probeIntervalMs"] as const) {
    const v = prop?.[k];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v <= 0))
      throw invalid(`options.propagation.${k}`, "expected a positive number of milliseconds");
  }
  const rc = opts.roleCheck;
  if (
    rc !== undefined &&
    typeof rc !== "boolean" &&
    (rc === null || typeof rc !== "object" || (rc.refuseSuperuser !== undefined && typeof rc.refuseSuperuser !== "boolean"))
  )
    throw invalid("options.roleCheck", "expected a boolean or { refuseSuperuser?: boolean }");
  const checkOptions = { schema: opts.schema, pkg, refuseSuperuser: typeof rc === "object" ? rc.refuseSuperuser === true : false };
  let report: OpsRoleReport | undefined;
  const gate =
    rc === false
      ? undefined
      : new RoleGate(async (on) => {
          report = await assertOpsRoles(on ?? exec, checkOptions);
        });
  // Last, once every option is valid: a listener from listenUrl owns a connection.
  const listener = opts.listener ?? (opts.listenUrl !== undefined ? pgUrlListener(opts.listenUrl) : undefined);
  return {
    exec,
    schema: opts.schema,
    pkg,
    clock: opts.clock,
    listener,
    propagation: prop,
    onWarning: opts.onWarning,
    adoptTx: shim.adoptTx,
    txExpected: shim.txExpected,
    capabilities: opts.capabilities,
    gate,
    roleReport: () => report,
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
    async ready() {
      if (!ctx.gate) return undefined;
      await ctx.gate.wait();
      return ctx.roleReport?.();
    },
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
