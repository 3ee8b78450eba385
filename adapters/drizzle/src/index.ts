export { drizzleStores, type DrizzleStores, type DrizzleStoresOptions } from "./stores.js";
export { DRIZZLE_CAPABILITIES } from "./base.js";
export type { DrizzleDatabase, DrizzleExecutor, DrizzleTransaction } from "./db.js";
export { mapDbError, isConnectionError } from "./errors.js";
export {
  nodePgListener,
  postgresJsListener,
  pgliteListener,
  flagChannel,
  type PgListener,
  type NodePgListenClient,
} from "./notifications.js";
export { DrizzleAuditStore } from "./audit-store.js";
export { DrizzleSubjectKeyStore } from "./subject-key-store.js";
export { DrizzleFlagStore } from "./flag-store.js";
export { DrizzleIncidentStore } from "./incident-store.js";
export { DrizzleAuthEventStore } from "./auth-event-store.js";
export { DrizzleCounterStore } from "./counter-store.js";
export { DrizzleOutboxStore } from "./outbox-store.js";
export { createOpsTables, type OpsTables } from "./schema.js";
