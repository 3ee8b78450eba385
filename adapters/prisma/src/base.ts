import { UnavailableError, type StoreCapabilities } from "@ops/core";
import type { PrismaSqlClient } from "./client.js";
import { mapPrismaError } from "./errors.js";

export const PKG = "adapter-prisma";

/**
 * What the Prisma adapter can do: writes share the user's database, so state is durable and
 * shared by every process; the outbox joins the caller's `$transaction`; counters are atomic
 * upserts. No pub/sub (flag changes are polled or pushed by another adapter) and no native TTL
 * (expired counter buckets are deleted on write).
 */
export const PRISMA_CAPABILITIES: StoreCapabilities = Object.freeze({
  transactions: true,
  pubsub: false,
  ttl: false,
  atomicCounters: true,
  durable: true,
  shared: true,
});

export interface PrismaStoreOptions {
  /** Overrides of the declared capabilities (tests, or a deployment that lacks one). */
  capabilities?: Partial<StoreCapabilities>;
}

/** What every Prisma store shares: the user's client, the closed state and error mapping. */
export abstract class PrismaStoreBase {
  readonly capabilities: StoreCapabilities;
  /** The app's client, or a transaction handle (e.g. inside @ops/tenancy's `$withTenant`). */
  protected readonly db: PrismaSqlClient;
  private closed = false;

  constructor(db: PrismaSqlClient, options: PrismaStoreOptions = {}) {
    this.db = db;
    this.capabilities = Object.freeze({ ...PRISMA_CAPABILITIES, ...options.capabilities });
  }

  /**
   * Runs one store operation: refuses after close, and maps any driver error to a typed one.
   * @throws UnavailableError after close() or when the database is unreachable.
   */
  protected async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new UnavailableError(`[ops/${PKG}] ${this.constructor.name} is closed`);
    try {
      return await fn();
    } catch (err) {
      throw mapPrismaError(err, what);
    }
  }

  protected select<T>(sql: string, values: readonly unknown[], client: PrismaSqlClient = this.db): Promise<T[]> {
    return Promise.resolve(client.$queryRawUnsafe<T[]>(sql, ...values));
  }

  protected exec(sql: string, values: readonly unknown[], client: PrismaSqlClient = this.db): Promise<number> {
    return Promise.resolve(client.$executeRawUnsafe(sql, ...values));
  }

  /** Never disconnects the injected client: it belongs to the app. */
  async close(): Promise<void> {
    this.closed = true;
  }
}
