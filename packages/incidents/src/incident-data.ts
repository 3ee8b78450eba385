import type { IncidentRecord, IncidentState, JsonObject, JsonValue, TenantKey } from "@ops/core";
import type { SpineEvent, SpineResponse } from "./types.js";

/** One applied flag change, enough to restore the value exactly. */
export interface AppliedFlag {
  key: string;
  tenantId: TenantKey;
  value: JsonValue;
  /** Whether a value was stored before (false: rollback clears it). */
  hadPrevious: boolean;
  previous: JsonValue;
  /**
   * Journaled before the flip, flip not yet confirmed. The previous value was read before the
   * flip, so it is exact whether or not the flip happened (an instance that died here left it).
   */
  pending?: boolean;
}

export type MitigationStatus =
  | "suggested"
  | "awaiting_approval"
  | "declined"
  | "applying"
  | "applied"
  | "failed"
  | "rolling_back"
  | "rolled_back";

export interface MitigationState {
  status: MitigationStatus;
  at: string;
  by: string;
  flags: Array<{ key: string; value: JsonValue; reason: string; tenantId: TenantKey }>;
  applied: AppliedFlag[];
  error?: string;
  /** Token of the claim that owns this mitigation now; status writes check it (compare-and-set). */
  lease?: string;
}

export interface Transition {
  from: IncidentState | null;
  to: IncidentState;
  at: string;
  actor: string;
  reason?: string;
}

/** What @ops/incidents keeps in `IncidentRecord.data`. */
export interface IncidentData {
  source: "detection" | "manual";
  event: SpineEvent;
  response: SpineResponse;
  occurrences: number;
  firstSeenAt: string;
  lastSeenAt: string;
  groupKey: string;
  history: Transition[];
  mitigation?: MitigationState;
  /** `groupNotifiedAt`: the group was notified through an earlier member (this one not yet), so its ack/resolve is owed. */
  notify?: {
    firstNotifiedAt?: string;
    lastNotifiedAt?: string;
    ackNotifiedAt?: string;
    resolvedNotifiedAt?: string;
    groupNotifiedAt?: string;
  };
}

/** Typed view of an incident's data. */
export function dataOf(r: IncidentRecord): IncidentData {
  return r.data as unknown as IncidentData;
}

export function toJson(d: IncidentData): JsonObject {
  return JSON.parse(JSON.stringify(d)) as JsonObject;
}
