export {
  ConfigError,
  ConflictError,
  formatPath,
  IntegrityError,
  OverloadedError,
  isOpsError,
  issuesFromZod,
  NotFoundError,
  OpsError,
  type OpsErrorCode,
  type OpsErrorOptions,
  parseInput,
  TenantIsolationError,
  UnavailableError,
  UnsupportedError,
  ValidationError,
  type ValidationIssue,
} from "./errors.js";
export { prefixedId, sortableId, stableId } from "./ids.js";
export { type Clock, ManualClock, systemClock } from "./clock.js";
export { loadOpsEnv, NOTIFY_MODES, type NotifyMode, type OpsEnvConfig } from "./env.js";
export {
  type JsonObject,
  JsonObjectSchema,
  type JsonPrimitive,
  type JsonValue,
  JsonValueSchema,
  jsonDepthExceeds,
  parseJsonText,
} from "./json.js";
export {
  ACTOR_TYPES,
  type ActorRef,
  ActorRefSchema,
  type ActorType,
  ActorTypeSchema,
  AUDIT_ACTIONS,
  AuditActionSchema,
  AUTH_EVENT_TYPES,
  AUTH_INCIDENT_TYPES,
  type AuthEventType,
  AuthEventTypeSchema,
  type AuthIncidentType,
  AuthIncidentTypeSchema,
  type Environment,
  EnvironmentSchema,
  IsoDateTimeSchema,
  KNOWN_ENVIRONMENTS,
  type KnownAuthEventType,
  type Outcome,
  OUTCOMES,
  OutcomeSchema,
  SEVERITIES,
  type Severity,
  severityFromGuess,
  severityRank,
  SeveritySchema,
  type TenantId,
  TenantIdSchema,
  type UniversalAuditAction,
} from "./schemas.js";
export { decodeCursor, DEFAULT_PAGE_LIMIT, encodeCursor, MAX_PAGE_LIMIT, type Page, pageLimit, type PageRequest } from "./cursor.js";
export { type AdminNotification, type AuditSink, type AuditSinkEntry, type FlagWriter, type Notifier, type SignalSink } from "./ports.js";
export { mapLimit } from "./concurrency.js";
export { isRejection, rejectionReason, writeIsolated, type IsolatedWrite, type RejectedRecord } from "./batch.js";
export { type Closeable, type StoreCapabilities, type TenantKey } from "./stores/common.js";
export {
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
  type SealedFields,
  type SubjectKey,
  type SubjectKeyStore,
} from "./stores/audit-store.js";
export {
  DEFAULT_SNAPSHOT_PAGE,
  type FlagChange,
  type FlagRecord,
  type FlagStore,
  MAX_SNAPSHOT_PAGE,
  snapshotPageLimit,
  streamFlagSnapshot,
} from "./stores/flag-store.js";
export {
  type ChangeRequestPatch,
  type ChangeRequestRecord,
  type ChangeRequestStatus,
  type ChangeRequestStore,
  type NewChangeRequest,
} from "./stores/change-request-store.js";
export {
  ACTIVE_INCIDENT_STATES,
  INCIDENT_STATES,
  type IncidentListQuery,
  type IncidentModelRecord,
  type IncidentRecord,
  type IncidentScanQuery,
  type IncidentState,
  type IncidentStore,
} from "./stores/incident-store.js";
export { type AuthEventQuery, type AuthEventRecord, type AuthEventStore } from "./stores/auth-event-store.js";
export {
  type ActiveCondition,
  type ActiveSeries,
  type CounterAdd,
  type CounterStore,
  keepActive,
  MAX_ACTIVE_HAVING,
  MAX_ACTIVE_KEYS,
} from "./stores/counter-store.js";
export {
  OUTBOX_STATUSES,
  type OutboxEnqueueMessage,
  type OutboxFinalStatus,
  type OutboxMessage,
  type OutboxStatus,
  type OutboxStore,
} from "./stores/outbox-store.js";
export { type OpsStores } from "./stores/bundle.js";
export {
  checkEffects,
  EFFECT_KINDS,
  type EffectKind,
  type EffectRecord,
  type EffectStore,
  type PendingEffect,
} from "./stores/effect-store.js";
export {
  auditEffect,
  createEffectRelay,
  effectId,
  type EffectDeadLetter,
  type EffectRelay,
  type EffectRelayOptions,
  type EffectRelayStats,
  notifyEffect,
} from "./effects.js";
export {
  checkCounterAdds,
  checkCounterIncrement,
  checkCounterKey,
  checkCounterReadActive,
  checkIsoTime,
  checkNonEmpty,
  checkOutboxCancel,
  checkOutboxEnqueue,
  checkSubjectKeyCandidate,
  invalidField,
} from "./stores/input-checks.js";
export {
  ERASED_TEXT,
  forgetReplacements,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
  scrubJson,
  scrubText,
} from "./stores/forget.js";
export {
  checkStorable,
  checkStorableFields,
  isStorableText,
  MAX_JSON_DEPTH,
  STORABLE_LIMITS,
  type StorableIssue,
  type StorableKind,
  storableJson,
  storableJsonIssue,
  storableText,
  storableTextIssue,
  toStorableText,
  UNSTORABLE_MESSAGE,
  UNSTORABLE_TEXT,
} from "./storable.js";
export {
  checkStoreInput,
  type GuardedStores,
  guardStore,
  guardStores,
  STORE_WRITE_CHECKS,
  type StoreKind,
} from "./stores/guard.js";
