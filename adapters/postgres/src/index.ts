export {
  postgresStores,
  storeContext,
  storesFromContext,
  type PostgresStores,
  type PostgresStoresOptions,
  type PostgresShimOptions,
} from "./stores.js";
export { POSTGRES_CAPABILITIES, PgStoreBase, type PgStoreContext } from "./base.js";
export {
  nodePgExecutor,
  postgresJsExecutor,
  pgliteExecutor,
  isPgExecutor,
  pgArrayLiteral,
  type PgExecutor,
  type Row,
  type NodePgClientLike,
  type NodePgPoolLike,
  type PostgresJsLike,
  type PgliteLike,
} from "./executor.js";
export { mapPgError, isConnectionError } from "./errors.js";
export {
  nodePgListener,
  postgresJsListener,
  pgliteListener,
  pgUrlListener,
  flagChannel,
  type PgListener,
  type NodePgListenClient,
} from "./notifications.js";
export { OPS_MIGRATIONS, migrationStatements, applyOpsMigrations } from "./migrations.js";
export { PgAuditStore } from "./stores/audit-store.js";
export { PgSubjectKeyStore } from "./stores/subject-key-store.js";
export { PgFlagStore } from "./stores/flag-store.js";
export { PgChangeRequestStore } from "./stores/change-request-store.js";
export { PgIncidentStore } from "./stores/incident-store.js";
export { PgAuthEventStore } from "./stores/auth-event-store.js";
export { PgOutboxStore } from "./stores/outbox-store.js";
export { PgCounterStore } from "./stores/counter-store.js";
export { PgEffectStore } from "./stores/effect-store.js";
