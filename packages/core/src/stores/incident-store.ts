import type { JsonObject } from "../json.js";
import type { Severity } from "../schemas.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";
import type { PendingEffect } from "./effect-store.js";
import type { ForgetSubjectInput, ForgetSubjectResult } from "./forget.js";

export const INCIDENT_STATES = ["open", "acknowledged", "mitigated", "resolved"] as const;
/** Lifecycle: open -> acknowledged -> mitigated -> resolved (the library enforces the order). */
export type IncidentState = (typeof INCIDENT_STATES)[number];
/** States in which an incident is "active" (counts for fingerprint dedupe). */
export const ACTIVE_INCIDENT_STATES = ["open", "acknowledged", "mitigated"] as const satisfies readonly IncidentState[];

export interface IncidentRecord {
  /** Stable id (type + scope + window), so the same incident is never raised twice. */
  id: string;
  /** Owner; `null` for a global (cross-tenant) incident. */
  tenantId: TenantKey;
  /** Dedupe key: at most one active (not resolved) incident per (tenantId, fingerprint). */
  fingerprint: string;
  type: string;
  severity: Severity;
  state: IncidentState;
  title: string;
  /** ISO 8601 UTC with milliseconds (`new Date().toISOString()`), as every timestamp here. */
  openedAt: string;
  updatedAt: string;
  resolvedAt?: string;
  /** Response plan, metrics snapshot, mitigation state, notification timers: owned by @ops/incidents, opaque to the store. */
  data: JsonObject;
  /** 1 on create, +1 on every update. */
  version: number;
}

export interface IncidentListQuery extends PageRequest {
  tenantId: TenantKey;
  states?: readonly IncidentState[];
  types?: readonly string[];
}

/** Every tenant's incidents, for a runtime that sweeps them all (system use only). */
export interface IncidentScanQuery extends PageRequest {
  states?: readonly IncidentState[];
}

/** A small versioned document kept next to incidents (the triage model). */
export interface IncidentModelRecord {
  tenantId: TenantKey;
  /** 1-128 characters, e.g. "triage". */
  name: string;
  model: JsonObject;
  /** 1 on create, +1 on every write. */
  version: number;
  updatedAt: string;
}

/**
 * Storage of incidents. Every method taking `tenantId` only ever sees that tenant's records
 * (`null` is the global scope, which is its own scope, not "all tenants"): a record of tenant A is
 * absent (null / NotFoundError / not listed) for a call made with tenant B.
 */
export interface IncidentStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Inserts a new incident (version 1, returned as stored). Under concurrent invocation with one
   * id, exactly one caller succeeds and the others get `ConflictError` (that is how many app
   * instances raise an incident once). Also `ConflictError` when another active (not resolved)
   * incident of the same tenant has the same fingerprint: one active incident per fingerprint
   * (PostgreSQL: a partial unique index `WHERE state <> 'resolved'`).
   * `effects` (when `capabilities.effects`): stored in the same atomic write (see `FlagStore.put`).
   * @throws ConflictError; ValidationError for a malformed effect; UnsupportedError
   */
  create(input: { record: Omit<IncidentRecord, "version">; effects?: readonly PendingEffect[] }): Promise<IncidentRecord>;
  get(input: { tenantId: TenantKey; id: string }): Promise<IncidentRecord | null>;
  /** The active (not resolved) incident with this fingerprint in this tenant, if any. */
  findActive(input: { tenantId: TenantKey; fingerprint: string }): Promise<IncidentRecord | null>;
  /**
   * Compare-and-set update of the mutable fields, one guarded write: it applies only when the
   * stored version equals `expectedVersion`, then the version becomes `expectedVersion + 1` and
   * the record as written is returned. Under concurrent updates with one expected version exactly
   * one wins. Fields absent from `patch` are unchanged; `data` is replaced whole.
   * `effects` (when `capabilities.effects`): stored in the same atomic write, only when it applies.
   * @throws ConflictError when `expectedVersion` is stale; NotFoundError when absent (in this tenant).
   */
  update(input: {
    tenantId: TenantKey;
    id: string;
    expectedVersion: number;
    effects?: readonly PendingEffect[];
    patch: Partial<Pick<IncidentRecord, "state" | "severity" | "title" | "updatedAt" | "resolvedAt" | "data">>;
  }): Promise<IncidentRecord>;
  /**
   * One tenant's incidents, newest first (openedAt desc, then id desc), keyset-paged: following
   * `nextCursor` to the end returns every matching record exactly once, also while others insert.
   */
  list(input: IncidentListQuery): Promise<Page<IncidentRecord>>;
  /**
   * Every tenant's incidents (global ones included), by id ascending, keyset-paged with the same
   * guarantees as `list`. For a runtime's sweep (auto-resolve, notification timers); never expose
   * it to tenant code.
   */
  scan(input: IncidentScanQuery): Promise<Page<IncidentRecord>>;
  /** Reads a model document (e.g. the triage model), or null. */
  getModel(input: { tenantId: TenantKey; name: string }): Promise<IncidentModelRecord | null>;
  /**
   * Writes a model document with compare-and-set: `expectedVersion: null` means "must not exist".
   * @throws ConflictError when the version differs (or it exists and null was expected).
   */
  putModel(input: {
    tenantId: TenantKey;
    name: string;
    model: JsonObject;
    expectedVersion: number | null;
    updatedAt: string;
  }): Promise<IncidentModelRecord>;
  /**
   * Erasure (`forgetSubject` of @ops/audit): in `tenantId`'s incidents, the subject id becomes
   * `pseudonym` and every identifier in `title` and `data` (metrics snapshots, offender lists)
   * becomes "[ERASED]" (see `scrubJson`); each changed record gets `version + 1`. Returns how
   * many changed. Optional.
   */
  forgetSubject?(input: ForgetSubjectInput): Promise<ForgetSubjectResult>;
}
