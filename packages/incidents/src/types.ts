import type { JsonObject, JsonValue, Severity, TenantKey } from "@ops/core";

/**
 * An incident event, as `runAuthOpsSpine` takes it. `incident_type` is one of the 8 auth types or any type
 * registered in a `PlaybookRegistry`.
 */
export interface SpineEvent<T extends string = string> {
  event_id: string;
  incident_type: T;
  /** 1 = most severe .. 4 = least. */
  severity_guess: number;
  /** ISO 8601. */
  occurred_at: string;
  metrics_snapshot: Record<string, JsonValue>;
  /** The tenant the incident concerns; absent or null for app-wide incidents. */
  tenant_id?: TenantKey;
}

/** A flag the playbook recommends setting while the incident lasts. */
export interface RecommendedFlag {
  key: string;
  value: JsonValue;
  /** Why, in one line, for the on-call engineer and the audit trail. */
  reason: string;
  /** "tenant": set as the incident's tenant override (global when the incident has no tenant). */
  scope: "tenant" | "global";
}

/** Where the on-call engineer reads more. */
export interface Runbook {
  title: string;
  summary: string;
  /** Ordered sections: diagnose, contain, recover, follow up. */
  sections: Array<{ heading: string; items: string[] }>;
  /** Public practice the playbook follows (OWASP cheat sheets, RFCs). */
  references: string[];
}

/** What `runAuthOpsSpine` returns: decision, steps, recommended flags, rollback plan, severity, runbook and checks. */
export interface SpineResponse<T extends string = string> {
  event_id: string;
  incident_type: T;
  /** One sentence: what we are doing about it. */
  decision: string;
  severity: Severity;
  /** Actionable, ordered. */
  steps: string[];
  recommended_flags: RecommendedFlag[];
  /** How to undo the mitigation, and when. */
  rollback_plan: string[];
  runbook: Runbook;
  /** What to check after mitigating, before resolving. */
  post_mitigation_checks: string[];
}

/** What a playbook computes for one event; the registry fills in ids and defaults. */
export interface PlaybookResponse {
  decision: string;
  steps: string[];
  recommended_flags?: RecommendedFlag[];
  rollback_plan?: string[];
  runbook?: Runbook;
  post_mitigation_checks?: string[];
  /** The least severity this incident can have (e.g. TENANT_LEAK_RISK: critical). */
  minSeverity?: Severity;
}

/** One incident type's response logic. Pure and synchronous. */
export interface Playbook<T extends string = string> {
  /** Human title, e.g. "Failed logins spike". */
  title: string;
  respond(event: SpineEvent<T>): PlaybookResponse;
}

/** Free-form context passed to detectors: the tenant and time the metrics describe. */
export interface DetectionContext {
  tenantId?: TenantKey;
  env?: string;
  /** When the metrics were taken (default: now). */
  now?: string | number | Date;
  [key: string]: JsonValue | Date | undefined;
}

export type MetricsInput = Record<string, JsonValue>;
export type { JsonObject };
