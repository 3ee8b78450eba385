import {
  POSTGRES_CAPABILITIES,
  PgAuditStore,
  PgAuthEventStore,
  PgCounterStore,
  PgFlagStore,
  PgIncidentStore,
  PgOutboxStore,
  PgSubjectKeyStore,
  applyOpsMigrations as applyWith,
  mapPgError,
  pgUrlListener,
  storeContext,
  storesFromContext,
  type PgListener,
  type PgPropagationOptions,
  type PgStoreContext,
  type PostgresStores,
} from "@ops/adapter-postgres";
import { ConfigError, type Clock, type StoreCapabilities } from "@ops/core";
import { isPrismaSqlClient, prismaExecutor, type PrismaClientLike, type PrismaSqlClient } from "./client.js";

const PKG = "adapter-prisma";

/**
 * What the Prisma adapter can do: the PostgreSQL store's capabilities (durable, shared, the outbox
 * joins the caller's `$transaction`, atomic counters); `pubsub` with a `listener` or `listenUrl`.
 */
export const PRISMA_CAPABILITIES: StoreCapabilities = POSTGRES_CAPABILITIES;

export interface PrismaStoreOptions {
  /** Overrides of the declared capabilities (tests, or a deployment that lacks one). */
  capabilities?: Partial<StoreCapabilities>;
  /** PostgreSQL schema of the @ops tables (default: the connection's search_path). */
  schema?: string;
  /** Time source for the timestamps the stores set themselves (`FlagRecord.updatedAt`). */
  clock?: Clock;
  /**
   * Flag propagation: a LISTEN connection (`nodePgListener(client)`, ...) enabling
   * `flags.subscribe` (`capabilities.pubsub`), fed by PostgreSQL NOTIFY from every process.
   */
  listener?: PgListener;
  /**
   * Flag propagation from a connection string (usually the one given to `PrismaPg`): the flag store
   * opens ONE dedicated node-postgres connection (the `pg` package) that LISTENs, and closes it on
   * `close()`. Must reach PostgreSQL directly, not through a transaction pooler (LISTEN hears
   * nothing there). Without `listener`/`listenUrl`, flag reads poll (`capabilities.pubsub` false).
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
export type PrismaStoresOptions = PrismaStoreOptions;

export interface PrismaStores extends PostgresStores {
  audit: PrismaAuditStore;
  auditKeys: PrismaSubjectKeyStore;
  flags: PrismaFlagStore;
  incidents: PrismaIncidentStore;
  authEvents: PrismaAuthEventStore;
  outbox: PrismaOutboxStore;
  counters: PrismaCounterStore;
}

function context(prisma: PrismaSqlClient, options: PrismaStoreOptions = {}): PgStoreContext {
  if (!isPrismaSqlClient(prisma))
    throw new ConfigError(
      `[ops/${PKG}] invalid prisma: expected a PrismaClient or transaction client (with $queryRawUnsafe and $executeRawUnsafe)`,
      [{ path: "prisma", message: "expected a PrismaClient" }],
    );
  const { listenUrl, ...rest } = options ?? {};
  if (listenUrl !== undefined && (typeof listenUrl !== "string" || !/^postgres(?:ql)?:\/\//.test(listenUrl)))
    throw new ConfigError(`[ops/${PKG}] invalid options.listenUrl: expected a postgres:// connection string`, [
      { path: "options.listenUrl", message: "expected a postgres:// connection string" },
    ]);
  const listener = rest.listener ?? (listenUrl !== undefined ? pgUrlListener(listenUrl) : undefined);
  return storeContext(
    prismaExecutor(prisma),
    { ...rest, ...(listener ? { listener } : {}) },
    {
      pkg: PKG,
      adoptTx: (tx) => (isPrismaSqlClient(tx) ? prismaExecutor(tx) : null),
      txExpected: "the transaction client of prisma.$transaction(async (tx) => ...)",
    },
  );
}

/**
 * Every @ops store over the app's own PrismaClient (Prisma 7 with a driver adapter such as
 * `@prisma/adapter-pg`), on the tables of `prisma/ops.prisma`. The stores are
 * @ops/adapter-postgres's, speaking SQL through `$queryRawUnsafe` with bind parameters, so any
 * generated client fits. `close()` closes the stores, never the client: it belongs to the app.
 *
 * `prisma` may also be an interactive transaction handle: `prismaStores(tx)` inside
 * `prisma.$transaction` (or @ops/tenancy's `$withTenant`, which sets `app.tenant_id` for RLS) runs
 * every store call in that transaction.
 * @throws ConfigError when `prisma` is not a Prisma client or an option is malformed.
 */
export function prismaStores(prisma: PrismaSqlClient, options: PrismaStoresOptions = {}): PrismaStores {
  return storesFromContext(context(prisma, options), "prisma");
}

export class PrismaAuditStore extends PgAuditStore {
  constructor(prisma: PrismaSqlClient, options: PrismaStoreOptions = {}) {
    super(context(prisma, options));
  }
}
export class PrismaSubjectKeyStore extends PgSubjectKeyStore {
  constructor(prisma: PrismaSqlClient, options: PrismaStoreOptions = {}) {
    super(context(prisma, options));
  }
}
export class PrismaFlagStore extends PgFlagStore {
  constructor(prisma: PrismaSqlClient, options: PrismaStoreOptions = {}) {
    super(context(prisma, options));
  }
}
export class PrismaIncidentStore extends PgIncidentStore {
  constructor(prisma: PrismaSqlClient, options: PrismaStoreOptions = {}) {
    super(context(prisma, options));
  }
}
export class PrismaAuthEventStore extends PgAuthEventStore {
  constructor(prisma: PrismaSqlClient, options: PrismaStoreOptions = {}) {
    super(context(prisma, options));
  }
}
export class PrismaOutboxStore extends PgOutboxStore {
  constructor(prisma: PrismaSqlClient, options: PrismaStoreOptions = {}) {
    super(context(prisma, options));
  }
}
export class PrismaCounterStore extends PgCounterStore {
  constructor(prisma: PrismaSqlClient, options: PrismaStoreOptions = {}) {
    super(context(prisma, options));
  }
}

/** Maps whatever Prisma (or the driver under it) threw to a typed @ops error; messages carry no query values. */
export function mapPrismaError(err: unknown, what: string): unknown {
  return mapPgError(err, what, PKG);
}

/**
 * Applies every @ops migration through the app's Prisma client, in one transaction, to a database
 * that has none of the @ops tables yet (tests, previews, a first deploy without Prisma Migrate).
 * In production prefer copying `prisma/migrations/*` into your migrations folder and running
 * `prisma migrate deploy`.
 * @throws ConflictError when the tables already exist; UnavailableError when the database is down.
 */
export function applyOpsMigrations(prisma: PrismaClientLike, options: { timeoutMs?: number } = {}): Promise<void> {
  return applyWith(prismaExecutor(prisma, options), { pkg: PKG });
}
