import type { Clock, JsonValue } from "@ops/core";
import { describeError, scrubSecrets, scrubValue } from "./scrub.js";
import type { CheckOutcome, CheckResult, HealthCheck, HealthReport, HealthStatus } from "./types.js";

/**
 * Default per-check timeout. Generous enough for a database under load; set the orchestrator's
 * probe timeout above it (Kubernetes defaults to 1 s) so a hung dependency yields a 503 with
 * details rather than a probe timeout.
 */
export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

/** A check's timeout elapsed; this is its signal's abort reason. */
export class CheckTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = "CheckTimeoutError";
  }
}

export interface ExecuteOptions {
  clock: Clock;
  defaultTimeoutMs: number;
  /** Literal secrets to redact from messages, on top of the built-in patterns. */
  secrets: readonly string[];
}

const TIMED_OUT = Symbol("timed-out");

/**
 * Runs one check under its timeout. Never throws and never waits past the timeout: a check that
 * never settles is reported as failed and its signal is aborted so it can release resources.
 */
export async function runCheck(check: HealthCheck, opts: ExecuteOptions): Promise<CheckResult> {
  const critical = check.critical ?? true;
  const timeoutMs = check.timeoutMs ?? opts.defaultTimeoutMs;
  const controller = new AbortController();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    // Not unref'd on purpose: a script awaiting the report must get it, not exit early.
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  let outcome: CheckOutcome;
  let timedOut = false;
  try {
    // Run inside a promise so a check that throws synchronously is handled like a rejection.
    const work = new Promise<CheckOutcome | boolean | void>((resolve) => resolve(check.run({ signal: controller.signal })));
    const settled = await Promise.race([work, expired]);
    if (settled === TIMED_OUT) {
      timedOut = true;
      controller.abort(new CheckTimeoutError(timeoutMs));
      work.catch(() => undefined); // a late rejection must not become an unhandled one
      outcome = { status: "fail", message: `timed out after ${timeoutMs} ms` };
    } else {
      outcome = normalizeOutcome(settled);
    }
  } catch (err) {
    outcome = { status: "fail", message: describeError(err, opts.secrets) };
  } finally {
    clearTimeout(timer);
  }
  return toResult(check, outcome, critical, timedOut, performance.now() - started, opts);
}

const STATUSES = new Set(["pass", "warn", "fail"]);

/** Checks are user code: anything they return is checked here, never trusted. */
function normalizeOutcome(value: unknown): CheckOutcome {
  if (value === undefined) return { status: "pass" };
  if (typeof value === "boolean") return { ok: value };
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { status: "fail", message: `check returned ${value === null ? "null" : typeof value}, expected an outcome object or a boolean` };
  const v = value as Record<string, unknown>;
  if (v.status !== undefined && !STATUSES.has(v.status as string))
    return { status: "fail", message: "check returned an invalid status, expected pass, warn or fail" };
  if (v.ok !== undefined && typeof v.ok !== "boolean") return { status: "fail", message: "check returned a non-boolean ok" };
  const out: CheckOutcome = {};
  if (v.status !== undefined) out.status = v.status as HealthStatus;
  if (v.ok !== undefined) out.ok = v.ok as boolean;
  if (v.message !== undefined && v.message !== null) out.message = String(v.message);
  const ov = v.observedValue;
  if (typeof ov === "number" || typeof ov === "string" || typeof ov === "boolean") out.observedValue = ov;
  if (typeof v.observedUnit === "string") out.observedUnit = v.observedUnit;
  if (typeof v.details === "object" && v.details !== null && !Array.isArray(v.details))
    out.details = v.details as { [key: string]: JsonValue };
  return out;
}

function toResult(
  check: HealthCheck,
  outcome: CheckOutcome,
  critical: boolean,
  timedOut: boolean,
  durationMs: number,
  opts: ExecuteOptions,
): CheckResult {
  const status: HealthStatus = outcome.status ?? (outcome.ok === false ? "fail" : "pass");
  // Every result explains itself; the defaults say only what the check said.
  const message = outcome.message ?? (status === "fail" ? "check reported not ok" : status === "warn" ? "check reported degraded" : "ok");
  const result: CheckResult = {
    name: check.name,
    key: check.measurement ? `${check.name}:${check.measurement}` : check.name,
    ok: status !== "fail",
    status,
    critical,
    durationMs: Math.round(durationMs * 1000) / 1000,
    timedOut,
    message: scrubSecrets(message, opts.secrets),
    tsISO: opts.clock.date().toISOString(),
  };
  // What a check returns besides its message is shown in the detailed view too: scrubbed alike.
  if (outcome.observedValue !== undefined) result.observedValue = scrubValue(outcome.observedValue, opts.secrets);
  if (outcome.observedUnit !== undefined) result.observedUnit = outcome.observedUnit;
  if (check.componentType !== undefined) result.componentType = check.componentType;
  if (outcome.details !== undefined) result.details = scrubValue(outcome.details, opts.secrets);
  return result;
}

/**
 * pass when every check passes; fail when a critical check fails; otherwise warn (degraded):
 * a non-critical check failed or some check warned.
 */
export function aggregateStatus(results: readonly CheckResult[]): HealthStatus {
  let status: HealthStatus = "pass";
  for (const r of results) {
    if (r.status === "fail" && r.critical) return "fail";
    if (r.status !== "pass") status = "warn";
  }
  return status;
}

/** Runs every check at once (never one after another) and builds the report. Never throws. */
export async function executeChecks(checks: readonly HealthCheck[], opts: ExecuteOptions): Promise<HealthReport> {
  const started = performance.now();
  const results = await Promise.all(checks.map((c) => runCheck(c, opts)));
  const status = aggregateStatus(results);
  return {
    ok: status !== "fail",
    status,
    checks: results,
    tsISO: opts.clock.date().toISOString(),
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
}
