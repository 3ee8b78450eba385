import { UnavailableError, guardStore, systemClock, type Clock, type StoreCapabilities, type StoreKind } from "@ops/core";

export const MEMORY_CAPABILITIES: StoreCapabilities = Object.freeze({
  transactions: false,
  pubsub: true,
  ttl: true,
  atomicCounters: true,
  durable: false,
  shared: false,
  erasure: true,
  effects: true,
});

export interface MemoryStoreOptions {
  /** Time source for TTLs and timestamps the store sets itself. */
  clock?: Clock;
  /**
   * Where flag and incident writes store their `effects` (shared by `memoryStores()`). A store
   * made alone creates its own, readable as `store.effects`.
   */
  effects?: import("./effect-store.js").MemoryEffectStore;
}

/** What every in-memory store shares: a clock and the closed state. */
export abstract class MemoryStoreBase {
  readonly capabilities: StoreCapabilities = MEMORY_CAPABILITIES;
  protected readonly clock: Clock;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    // The contract's input checks (one table in @ops/core), exactly as every other adapter runs them.
    const kind = (new.target as unknown as { storeKind?: StoreKind }).storeKind;
    if (kind) guardStore(kind, this as never);
  }

  /** @throws UnavailableError after close() */
  protected assertOpen(): void {
    if (this.closed) throw new UnavailableError(`[ops/adapter-memory] ${this.constructor.name} is closed`);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Stored values are copied in and out, as a database would: callers can never mutate what the
   * store holds through a reference they passed or received.
   */
  protected copy<T>(value: T): T {
    return structuredClone(value);
  }
}

/** Yields to the event loop so concurrent callers interleave the way they do against a database. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
