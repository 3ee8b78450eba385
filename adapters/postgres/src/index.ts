export {
  postgresStores,
  storeContext,
  storesFromContext,
  type PostgresStores,
  type PostgresStoresOptions,
  type PostgresShimOptions,
} from "./stores.js";
export { POSTGRES_CAPABILITIES, PgStoreBase, RoleGate, type PgStoreContext, type PgPropagationOptions } from "./base.js";
export {
  opsRoleSetupStatements,
  opsRoleSetupSql,
  setupOpsRoles,
  checkOpsRoles,
  assertOpsRoles,
  OpsRoleError,
  OPS_TABLE_PRIVILEGES,
  OPS_SERVICE_POLICY,
  type OpsRoleSetupOptions,
  type OpsRoleCheckOptions,
  type OpsRoleReport,
  type OpsTableAccess,
} from "./roles.js";
export {
  nodePgExecutor,
  postgresJsExecutor,
  checkPostgresJsClient,
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
  type PgListenEvents,
  type NodePgListenClient,
  type NodePgListenerOptions,
} from "./notifications.js";
export { OPS_MIGRATIONS, migrationStatements, applyOpsMigrations } from "./migrations.js";
export { PgAuditStore } from "./stores/audit-store.js";
export { PgSubjectKeyStore } from "./stores/subject-key-store.js";
export { PgFlagStore, type FlagPropagation } from "./stores/flag-store.js";
export { PgChangeRequestStore } from "./stores/change-request-store.js";
export { PgIncidentStore } from "./stores/incident-store.js";
export { PgAuthEventStore } from "./stores/auth-event-store.js";
export { PgOutboxStore } from "./stores/outbox-store.js";
export { PgCounterStore } from "./stores/counter-store.js";
export { PgEffectStore } from "./stores/effect-store.js";
