import type { OpsStores } from "@ops/core";
import { MEMORY_CAPABILITIES, type MemoryStoreOptions } from "./base.js";
import { MemoryAuditStore } from "./audit-store.js";
import { MemorySubjectKeyStore } from "./subject-key-store.js";
import { MemoryAuthEventStore } from "./auth-event-store.js";
import { MemoryCounterStore } from "./counter-store.js";
import { MemoryFlagStore } from "./flag-store.js";
import { MemoryChangeRequestStore } from "./change-request-store.js";
import { MemoryIncidentStore } from "./incident-store.js";
import { MemoryOutboxStore } from "./outbox-store.js";
import { MemoryEffectStore } from "./effect-store.js";

export type MemoryStoresOptions = MemoryStoreOptions;

export interface MemoryStores extends OpsStores {
  audit: MemoryAuditStore;
  auditKeys: MemorySubjectKeyStore;
  flags: MemoryFlagStore;
  changeRequests: MemoryChangeRequestStore;
  incidents: MemoryIncidentStore;
  authEvents: MemoryAuthEventStore;
  outbox: MemoryOutboxStore;
  counters: MemoryCounterStore;
  effects: MemoryEffectStore;
}

/**
 * Every @ops store, in process. The reference implementation of the store contracts: same
 * versions, cursors and concurrency semantics as the database adapters, nothing shared between
 * processes and nothing kept across restarts.
 */
export function memoryStores(options: MemoryStoresOptions = {}): MemoryStores {
  const effects = new MemoryEffectStore(options);
  const shared = { ...options, effects };
  const stores = {
    effects,
    audit: new MemoryAuditStore(options),
    auditKeys: new MemorySubjectKeyStore(options),
    flags: new MemoryFlagStore(shared),
    changeRequests: new MemoryChangeRequestStore(options),
    incidents: new MemoryIncidentStore(shared),
    authEvents: new MemoryAuthEventStore(options),
    outbox: new MemoryOutboxStore(options),
    counters: new MemoryCounterStore(options),
  };
  return {
    adapter: "memory",
    capabilities: MEMORY_CAPABILITIES,
    ...stores,
    async close() {
      await Promise.all(Object.values(stores).map((s) => s.close()));
    },
  } as MemoryStores;
}
