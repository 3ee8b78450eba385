export {
  drizzleStores,
  mapDbError,
  DRIZZLE_CAPABILITIES,
  DrizzleAuditStore,
  DrizzleSubjectKeyStore,
  DrizzleFlagStore,
  DrizzleIncidentStore,
  DrizzleAuthEventStore,
  DrizzleCounterStore,
  DrizzleOutboxStore,
  type DrizzleStores,
  type DrizzleStoresOptions,
  type DrizzleStoreContext,
} from "./stores.js";
export { drizzleToExecutor, type DrizzleDatabase, type DrizzleExecutor, type DrizzleTransaction } from "./db.js";
export {
  isConnectionError,
  nodePgListener,
  postgresJsListener,
  pgliteListener,
  pgUrlListener,
  flagChannel,
  type PgListener,
  type PgListenEvents,
  type NodePgListenClient,
  type NodePgListenerOptions,
  type PgPropagationOptions,
} from "@ops/adapter-postgres";
export { createOpsTables, type OpsTables } from "./schema.js";
