import type { OpsStores, StoreCapabilities } from "@ops/core";
import type { RedisClient } from "./client.js";
import { RedisAuthEventStore, type RedisAuthEventOptions } from "./auth-event-store.js";
import { RedisCounterStore } from "./counter-store.js";
import { RedisFlagStore } from "./flag-store.js";
import { RedisChangeRequestStore } from "./change-request-store.js";
import { RedisIncidentStore } from "./incident-store.js";
import { RedisKeys } from "./keys.js";
import { RedisOutboxStore, type RedisOutboxOptions } from "./outbox-store.js";

export const REDIS_CAPABILITIES: StoreCapabilities = Object.freeze({
  transactions: false,
  pubsub: true,
  ttl: true,
  atomicCounters: true,
  // Redis persistence is the operator's choice (RDB/AOF); the adapter cannot promise it.
  durable: false,
  shared: true,
  // forgetSubject on auth events, incidents and the outbox.
  erasure: true,
});

export interface RedisStoresOptions extends RedisOutboxOptions, RedisAuthEventOptions {
  /** Every key and channel starts with this. Default "ops". */
  prefix?: string;
  /** While the flag subscription is down, re-read flags this often (ms). Default 1000. */
  flagPollIntervalMs?: number;
}

export interface RedisStores extends OpsStores {
  flags: RedisFlagStore;
  changeRequests: RedisChangeRequestStore;
  counters: RedisCounterStore;
  outbox: RedisOutboxStore;
  incidents: RedisIncidentStore;
  authEvents: RedisAuthEventStore;
  /** The key layout, e.g. `keys.scanPattern(tenantId)` to SCAN one tenant's keys. */
  keys: RedisKeys;
}

/**
 * The Redis stores over the app's own ioredis client, a `Redis` (single server or Sentinel) or a
 * `Cluster` (never closed by us; the flag subscription uses a duplicate connection that we open
 * and close). On a Cluster every multi-key command and pipeline stays within one slot. No `audit` store: Redis cannot make an
 * append-only, durable hash chain (any client can rewrite a key, persistence is optional), so
 * keep the audit trail in PostgreSQL.
 */
export function redisStores(redis: RedisClient, options: RedisStoresOptions = {}): RedisStores {
  const keys = new RedisKeys(options.prefix ?? "ops");
  const caps = REDIS_CAPABILITIES;
  const stores = {
    flags: new RedisFlagStore(redis, { keys, capabilities: caps, pollIntervalMs: options.flagPollIntervalMs ?? 1000 }),
    changeRequests: new RedisChangeRequestStore(redis, keys, caps),
    counters: new RedisCounterStore(redis, keys, caps),
    outbox: new RedisOutboxStore(redis, keys.prefix, caps, options),
    incidents: new RedisIncidentStore(redis, keys, caps),
    authEvents: new RedisAuthEventStore(redis, keys, caps, options),
  };
  return {
    adapter: "redis",
    capabilities: caps,
    keys,
    ...stores,
    async close() {
      await Promise.all(Object.values(stores).map((s) => s.close()));
    },
  };
}
