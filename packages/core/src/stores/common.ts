/**
 * What a backend can do. The library degrades (or refuses with `UnsupportedError`) where a
 * capability is missing, instead of silently pretending.
 */
export interface StoreCapabilities {
  /** Writes can join a caller's transaction (outbox enqueue with a business write). */
  transactions: boolean;
  /** The store pushes change events (`FlagStore.subscribe`) across processes. */
  pubsub: boolean;
  /** Records can expire by themselves (counters, dedupe keys). */
  ttl: boolean;
  /** `CounterStore.increment` is atomic across processes. */
  atomicCounters: boolean;
  /** State survives a process restart. */
  durable: boolean;
  /** Several processes share this state (false for the in-memory adapter). */
  shared: boolean;
  /** The optional `forgetSubject` erasure methods (auth events, incidents, outbox) are implemented. */
  erasure?: boolean;
  /**
   * Flag and incident writes take `effects` and store them atomically with the change in the
   * bundle's `EffectStore` (the transactional outbox of audit entries and notifications).
   */
  effects?: boolean;
}

/** Every store can be closed. */
export interface Closeable {
  /**
   * Releases what the store itself opened (timers, subscriptions, connections it created) but
   * never a client the app injected. Idempotent. After close, other methods reject with
   * `UnavailableError`.
   */
  close(): Promise<void>;
}

/**
 * `null` is the global scope: records that belong to no tenant (an app-wide flag default, the
 * audit chain of entries made outside any tenant). Every tenant-owned method takes the tenant
 * explicitly; a store never returns one tenant's records to a call made for another.
 */
export type TenantKey = string | null;
