import type { JsonObject } from "../json.js";
import type { Severity } from "../schemas.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

export const INCIDENT_STATES = ["open", "acknowledged", "mitigated", "resolved"] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

export interface IncidentRecord {
  /** Stable id (type + scope + window), so the same incident is never raised twice. */
  id: string;
  tenantId: TenantKey;
  /** Dedupe key: incidents with one fingerprint are one incident while open. */
  fingerprint: string;
  type: string;
  severity: Severity;
  state: IncidentState;
  title: string;
  openedAt: string;
  updatedAt: string;
  resolvedAt?: string;
  /** Response plan, metrics snapshot, mitigation state, notification timers: owned by @ops/incidents. */
  data: JsonObject;
  version: number;
}

export interface IncidentListQuery extends PageRequest {
  tenantId: TenantKey;
  states?: readonly IncidentState[];
  types?: readonly string[];
}

export interface IncidentStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Inserts a new incident (version 1). Exactly one of several concurrent creators of the same id
   * succeeds; the others get `ConflictError` (that is how many app instances raise it once).
   * @throws ConflictError
   */
  create(input: { record: Omit<IncidentRecord, "version"> }): Promise<IncidentRecord>;
  get(input: { tenantId: TenantKey; id: string }): Promise<IncidentRecord | null>;
  /** The newest incident with this fingerprint that is not resolved, if any. */
  findActive(input: { tenantId: TenantKey; fingerprint: string }): Promise<IncidentRecord | null>;
  /**
   * Compare-and-set update of the mutable fields.
   * @throws ConflictError when `expectedVersion` is stale; NotFoundError when absent.
   */
  update(input: {
    tenantId: TenantKey;
    id: string;
    expectedVersion: number;
    patch: Partial<Pick<IncidentRecord, "state" | "severity" | "title" | "updatedAt" | "resolvedAt" | "data">>;
  }): Promise<IncidentRecord>;
  /** Newest first (by openedAt, then id). */
  list(input: IncidentListQuery): Promise<Page<IncidentRecord>>;
  /** Tenants (and `null`) with incidents in the given states: lets a runtime sweep all tenants. */
  listActiveAll?(input: { states: readonly IncidentState[] } & PageRequest): Promise<Page<IncidentRecord>>;
}
