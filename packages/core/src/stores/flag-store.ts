import type { JsonValue } from "../json.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

/**
 * A stored flag configuration. The global record (`tenantId: null`) holds the flag's definition
 * for an environment; a record with a tenant id is that tenant's override. `config` is opaque to
 * the store (`@ops/flags` owns its shape).
 */
export interface FlagRecord {
  env: string;
  key: string;
  tenantId: TenantKey;
  config: JsonValue;
  /** Starts at 1, +1 on every write. */
  version: number;
  updatedAt: string;
  updatedBy: string;
}

export interface FlagChange {
  env: string;
  key: string;
  tenantId: TenantKey;
  /** The version after the change; 0 when the record was deleted. */
  version: number;
}

export interface FlagStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  get(input: { env: string; key: string; tenantId: TenantKey }): Promise<FlagRecord | null>;
  /**
   * Creates or replaces a record with compare-and-set: `expectedVersion: null` means "must not
   * exist yet", a number means "must be at exactly this version". Under concurrent writers with
   * the same expected version exactly one wins; the others get `ConflictError`. Returns the record
   * as written (version incremented).
   * @throws ConflictError
   */
  put(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    config: JsonValue;
    expectedVersion: number | null;
    actor: string;
  }): Promise<FlagRecord>;
  /**
   * Deletes a record (a tenant override, or a flag) with compare-and-set.
   * @throws ConflictError when the version differs; NotFoundError when absent.
   */
  delete(input: { env: string; key: string; tenantId: TenantKey; expectedVersion: number }): Promise<void>;
  /** One tenant's records (or the global ones for `null`), by key. */
  list(input: { env: string; tenantId: TenantKey } & PageRequest): Promise<Page<FlagRecord>>;
  /**
   * Every record of an environment, global and all tenants' overrides, for a server-side
   * evaluator that serves all tenants. Tenant-scoped stores (`@ops/tenancy`) restrict it to the
   * global records and the current tenant's.
   */
  snapshot(input: { env: string }): Promise<FlagRecord[]>;
  /**
   * Present when `capabilities.pubsub`: calls `listener` after every committed change, from any
   * process. Returns an unsubscribe function.
   */
  subscribe?(listener: (change: FlagChange) => void): () => void;
}
