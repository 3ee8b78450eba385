export {
  concurrently,
  type ConformanceCase,
  type ConformanceOptions,
  randomKey,
  randomTenant,
  registerCases,
  withStore,
} from "./conformance.js";
export {
  DEFAULT_TEST_PG_URL,
  DEFAULT_TEST_REDIS_URL,
  pgTargets,
  pgUrlAs,
  requireService,
  testPgAdminUrl,
  testPgBouncerUrl,
  testPgUrl,
  testRedisUrl,
} from "./services.js";
export { type AuditConformanceOptions, type AuditRawBackdoor, auditStoreCases, describeAuditStoreConformance } from "./audit.js";
export { describeFlagStoreConformance, type FlagConformanceOptions, type FlagRawBackdoor, flagStoreCases } from "./flags.js";
export {
  describeIncidentStoreConformance,
  type IncidentConformanceOptions,
  type IncidentRawBackdoor,
  incidentStoreCases,
  sampleIncident,
} from "./incidents.js";
export {
  type AuthEventConformanceOptions,
  type AuthEventRawBackdoor,
  authEventStoreCases,
  describeAuthEventStoreConformance,
  sampleAuthEvent,
} from "./auth-events.js";
export { type CounterConformanceOptions, type CounterRawBackdoor, counterStoreCases, describeCounterStoreConformance } from "./counters.js";
export { describeOutboxStoreConformance, type OutboxConformanceOptions, type OutboxRawBackdoor, outboxStoreCases } from "./outbox.js";
export {
  type ChangeRequestConformanceOptions,
  type ChangeRequestRawBackdoor,
  changeRequestStoreCases,
  describeChangeRequestStoreConformance,
} from "./change-requests.js";
export { pgAuditBackdoor, pgBackdoors, type PgRawConnection } from "./pg-backdoors.js";
export {
  describeHostileValuesConformance,
  guardCases,
  HOSTILE_STRINGS,
  type HostileValuesConformanceOptions,
  type HostileValuesOptions,
  hostileValueCases,
  rejectedInputCases,
} from "./guard.js";
export { describeEffectStoreConformance, type EffectConformanceOptions, type EffectStores, effectStoreCases } from "./effects.js";
export {
  describeLibraryHostileValues,
  type LibraryFlagController,
  type LibraryHostileValuesOptions,
  type LibraryIncidentManager,
  type LibrarySignalRecorder,
  type LibraryStores,
} from "./library.js";
