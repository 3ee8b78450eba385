import type { JsonValue } from "@ops/core";

/** The IETF health+json status of one check or of a whole report. `warn` means degraded. */
export type HealthStatus = "pass" | "warn" | "fail";

/** Which orchestrator probe a set of checks answers. */
export type ProbeKind = "liveness" | "readiness" | "startup";

/** What a running check receives. */
export interface CheckContext {
  /** Aborted when the check's timeout elapses (or the run is cancelled): stop work and release resources. */
  signal: AbortSignal;
}

/** What a check returns. Either `ok` or `status` decides the result; `status` wins when both are set. */
export interface CheckOutcome {
  ok?: boolean;
  status?: HealthStatus;
  /** Human-readable explanation, scrubbed of secrets before anyone sees it. */
  message?: string;
  /** The measured value (latency, free bytes, percent...), the draft's `observedValue`. */
  observedValue?: number | string | boolean;
  /** Unit of `observedValue`: "ms", "bytes", "percent"... */
  observedUnit?: string;
  /** Extra facts for the detailed view (never secrets). */
  details?: { [key: string]: JsonValue };
}

/** A check as a plain function: `async () => ({ name, ok })`. Other `CheckOutcome` fields are kept. */
export type SeedCheck = (ctx: CheckContext) => Promise<CheckOutcome & { name: string }> | (CheckOutcome & { name: string });

/** A named check with its policy. */
export interface HealthCheck {
  /** Component name, the key in health+json `checks` (with `measurement`, `name:measurement`). */
  name: string;
  run: (ctx: CheckContext) => Promise<CheckOutcome | boolean | void> | CheckOutcome | boolean | void;
  /** A failing critical check fails the report; a failing non-critical one only degrades it (warn). Default true. */
  critical?: boolean;
  /** After this many milliseconds the check fails as timed out and its signal aborts. Default: the runner's. */
  timeoutMs?: number;
  /** The draft's `componentType`: "datastore", "system", "component" or your own. */
  componentType?: string;
  /** The draft's measurement name, e.g. "responseTime": the key becomes `name:measurement`. */
  measurement?: string;
}

/** One check's result. */
export interface CheckResult {
  name: string;
  /** Key in health+json `checks`: `name` or `name:measurement`. */
  key: string;
  ok: boolean;
  status: HealthStatus;
  critical: boolean;
  durationMs: number;
  timedOut: boolean;
  /** Secret-free explanation, on every result ("ok" when a passing check said nothing). */
  message: string;
  observedValue?: number | string | boolean;
  observedUnit?: string;
  componentType?: string;
  details?: { [key: string]: JsonValue };
  /** When the check finished. */
  tsISO: string;
}

/** What `runHealthChecks` returns: `{ ok, checks, tsISO }`, plus the overall status. */
export interface HealthReport {
  /** False only when a critical check failed (status "fail"). */
  ok: boolean;
  status: HealthStatus;
  checks: CheckResult[];
  tsISO: string;
  durationMs: number;
  env?: string;
  probe?: ProbeKind;
}
