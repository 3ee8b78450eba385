export { memoryStores, type MemoryStores, type MemoryStoresOptions } from "./stores.js";
export { MEMORY_CAPABILITIES, type MemoryStoreOptions } from "./base.js";
export { MemoryAuditStore } from "./audit-store.js";
export { MemorySubjectKeyStore } from "./subject-key-store.js";
export { MemoryFlagStore } from "./flag-store.js";
export { MemoryIncidentStore } from "./incident-store.js";
export { MemoryAuthEventStore } from "./auth-event-store.js";
export { MemoryCounterStore } from "./counter-store.js";
export { MemoryOutboxStore } from "./outbox-store.js";
