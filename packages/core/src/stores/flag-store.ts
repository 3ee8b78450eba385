import { ValidationError } from "../errors.js";
import type { JsonValue } from "../json.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";
import type { PendingEffect } from "./effect-store.js";

/**
 * A stored flag configuration, identified by `(env, key, tenantId)`.
 *
 * - The global record (`tenantId: null`) holds the flag's definition for one environment.
 * - A record with a tenant id is that tenant's override of the flag in that environment.
 * - `config` is opaque to the store: `@ops/flags` owns its shape (`FlagConfig`,
 *   `TenantOverrideConfig`, segments). Stores keep it as JSON (jsonb) and return it unchanged
 *   (deep-equal; object key order may differ).
 *
 * Keys are 1..200 characters of `[A-Za-z0-9_.:$-]`. Keys starting with `$` are reserved for
 * `@ops/flags` internals (segments `$segment:<name>`, evaluation stats `$stats`); a store treats
 * them like any other key.
 */
export interface FlagRecord {
  env: string;
  key: string;
  tenantId: TenantKey;
  config: JsonValue;
  /** Starts at 1, +1 on every write. */
  version: number;
  /** ISO-8601 UTC time of the last write, set by the store. */
  updatedAt: string;
  /** The `actor` of the last write. */
  updatedBy: string;
}

/** What a subscriber is told after a committed write. It carries no config: re-read what you need. */
export interface FlagChange {
  env: string;
  key: string;
  tenantId: TenantKey;
  /** The version after the change; 0 when the record was deleted. */
  version: number;
}

/**
 * Storage of flag definitions and tenant overrides. Every method is tenant-exact: a call for
 * tenant A never reads, writes or lists a record of tenant B or a global record (and a call with
 * `tenantId: null` touches only global records), except `snapshot`, which is documented below.
 * `env` partitions everything the same way: no method crosses environments.
 */
export interface FlagStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /** The record at exactly `(env, key, tenantId)`, or null. */
  get(input: { env: string; key: string; tenantId: TenantKey }): Promise<FlagRecord | null>;
  /**
   * Creates or replaces a record with compare-and-set, as ONE guarded write:
   * - `expectedVersion: null` means "must not exist yet": creates it at version 1, or throws
   *   `ConflictError` when it exists (also when two creators race: exactly one wins);
   * - a number means "must be at exactly this version": writes `version + 1`, or throws
   *   `ConflictError` when the stored version differs or the record is absent.
   * Under N concurrent writers with the same expected version exactly one wins and N-1 get
   * `ConflictError`; a loser changes nothing. Returns the record as written. After the write
   * commits, subscribers (if any) are notified.
   *
   * `effects` (when `capabilities.effects`): side effects of this write (its audit entry, a
   * notification intent) stored in the SAME atomic write into the store's `EffectStore`: they
   * exist exactly when the record changed (none for a loser or a refused write).
   * @throws ConflictError; ValidationError for a malformed effect (nothing written);
   *   UnsupportedError when `effects` is given and the store cannot store them.
   */
  put(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    config: JsonValue;
    expectedVersion: number | null;
    actor: string;
    effects?: readonly PendingEffect[];
  }): Promise<FlagRecord>;
  /**
   * Deletes a record (a tenant override, a segment or a flag) with compare-and-set. Deleting the
   * global record does NOT delete tenants' overrides of the same key (`@ops/flags` does that).
   * Subscribers are notified with `version: 0`. `effects` as in `put`: stored with the delete.
   * @throws ConflictError when the stored version differs; NotFoundError when absent.
   */
  delete(input: {
    env: string;
    key: string;
    tenantId: TenantKey;
    expectedVersion: number;
    effects?: readonly PendingEffect[];
  }): Promise<void>;
  /**
   * One scope's records (one tenant's overrides, or the global records for `tenantId: null`),
   * ordered by key in binary order (code units; PostgreSQL `COLLATE "C"`), keyset-paged with an
   * opaque cursor: paging to the end returns every record that existed for the whole walk exactly
   * once, never a duplicate, whatever is inserted or deleted meanwhile.
   * @throws ValidationError for a bad `limit` or a cursor not returned by this method.
   */
  list(input: { env: string; tenantId: TenantKey } & PageRequest): Promise<Page<FlagRecord>>;
  /**
   * Every record of an environment, global and all tenants' overrides, for a server-side
   * evaluator that serves all tenants (`FeatureFlagController` loads it at start and on change).
   * Order is unspecified. Tenant-scoped stores (`@ops/tenancy`) restrict it to the global records
   * and the current tenant's.
   */
  snapshot(input: { env: string }): Promise<FlagRecord[]>;
  /**
   * Optional: the records of `snapshot`, streamed in keyset pages (pass back `nextCursor` as
   * `cursor`; null on the last page), so an evaluator over a million records never holds one huge
   * answer. `limit` is 1..`MAX_SNAPSHOT_PAGE` (default `DEFAULT_SNAPSHOT_PAGE`) records; a store
   * that pages by scope (Redis: one hash per tenant) may round a page up to whole scopes. Paging to
   * the end returns every record that existed for the whole walk at least once; without
   * concurrent writes exactly once. Tenant-scoped stores narrow it as `snapshot`.
   * Stores without it are read with `snapshot` (see `streamFlagSnapshot`).
   * @throws ValidationError for a bad `limit` or a cursor not returned by this method.
   */
  snapshotPage?(input: { env: string } & PageRequest): Promise<Page<FlagRecord>>;
  /**
   * Present when `capabilities.pubsub`: calls `listener` after every committed `put`/`delete`
   * (from any process sharing the backend, including this one), at least once per change, usually
   * within milliseconds. Notifications of one record arrive in version order; none is sent for a
   * write that lost its compare-and-set. A listener that throws does not stop delivery to others.
   * Returns an unsubscribe function (idempotent). `close()` ends all subscriptions.
   */
  subscribe?(listener: (change: FlagChange) => void): () => void;
}

/** The default `limit` of `FlagStore.snapshotPage`. */
export const DEFAULT_SNAPSHOT_PAGE = 5000;
/** The largest `limit` of `FlagStore.snapshotPage` (larger values are clamped). */
export const MAX_SNAPSHOT_PAGE = 20_000;

/**
 * Checks and clamps a `snapshotPage` limit to 1..`MAX_SNAPSHOT_PAGE`.
 * @throws ValidationError when `limit` is not a positive integer.
 */
export function snapshotPageLimit(limit: number | undefined, pkg = "core"): number {
  if (limit === undefined) return DEFAULT_SNAPSHOT_PAGE;
  if (!Number.isInteger(limit) || limit < 1)
    throw new ValidationError(`[ops/${pkg}] invalid limit: expected a positive integer`, [
      { path: "limit", message: "expected a positive integer" },
    ]);
  return Math.min(limit, MAX_SNAPSHOT_PAGE);
}

/**
 * An environment's records page by page: through `snapshotPage` when the store has it, else one
 * page holding the whole `snapshot` (custom adapters written before `snapshotPage`).
 */
export async function* streamFlagSnapshot(
  store: Pick<FlagStore, "snapshot" | "snapshotPage">,
  env: string,
  limit?: number,
): AsyncGenerator<FlagRecord[], void, undefined> {
  if (typeof store.snapshotPage !== "function") {
    yield await store.snapshot({ env });
    return;
  }
  let cursor: string | null = null;
  do {
    const page: Page<FlagRecord> = await store.snapshotPage({ env, ...(limit === undefined ? {} : { limit }), cursor });
    yield page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}
