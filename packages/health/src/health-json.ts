import type { JsonValue } from "@ops/core";
import type { ServiceInfo } from "./health.js";
import type { CheckResult, HealthReport, HealthStatus } from "./types.js";

/** The media type of the IETF draft "Health Check Response Format for HTTP APIs". */
export const HEALTH_JSON_TYPE = "application/health+json";

/** One entry of health+json `checks[key]`. */
export interface HealthJsonCheck {
  componentId?: string;
  componentType?: string;
  status: HealthStatus;
  observedValue?: number | string | boolean;
  observedUnit?: string;
  time: string;
  output?: string;
  /** Extensions (allowed by the draft): whether it gates the report, how long it took. */
  critical: boolean;
  durationMs: number;
  timedOut?: boolean;
  details?: { [key: string]: JsonValue };
}

/** A health+json document. */
export interface HealthJson {
  status: HealthStatus;
  serviceId?: string;
  version?: string;
  releaseId?: string;
  description?: string;
  output?: string;
  notes?: string[];
  checks?: Record<string, HealthJsonCheck[]>;
}

/** 200 for pass and warn (degraded still serves traffic), 503 for fail. */
export function httpStatusOf(status: HealthStatus): 200 | 503 {
  return status === "fail" ? 503 : 200;
}

/**
 * Renders a report as health+json. The short view carries only the status and the service
 * fields; the detailed view adds `checks` keyed by component (`name` or `name:measurement`) with
 * values, durations and (for non-passing checks, as the draft advises) the scrubbed message.
 */
export function toHealthJson(report: HealthReport, view: "short" | "detailed", service: ServiceInfo = {}): HealthJson {
  const doc: HealthJson = { status: report.status };
  if (service.serviceId !== undefined) doc.serviceId = service.serviceId;
  if (service.version !== undefined) doc.version = service.version;
  if (service.releaseId !== undefined) doc.releaseId = service.releaseId;
  if (service.description !== undefined) doc.description = service.description;
  if (view === "short") return doc;
  const failing = report.checks.filter((c) => c.status !== "pass").map((c) => c.key);
  if (failing.length > 0) doc.output = `${report.status === "fail" ? "failing" : "degraded"}: ${failing.join(", ")}`;
  const notes: string[] = [];
  if (report.env !== undefined) notes.push(`env=${report.env}`);
  if (report.probe !== undefined) notes.push(`probe=${report.probe}`);
  if (notes.length > 0) doc.notes = notes;
  const checks: Record<string, HealthJsonCheck[]> = {};
  for (const c of report.checks) (checks[c.key] ??= []).push(toCheckEntry(c));
  doc.checks = checks;
  return doc;
}

function toCheckEntry(c: CheckResult): HealthJsonCheck {
  const e: HealthJsonCheck = { status: c.status, time: c.tsISO, critical: c.critical, durationMs: c.durationMs };
  if (c.key !== c.name) e.componentId = c.name;
  if (c.componentType !== undefined) e.componentType = c.componentType;
  if (c.observedValue !== undefined) e.observedValue = c.observedValue;
  if (c.observedUnit !== undefined) e.observedUnit = c.observedUnit;
  if (c.status !== "pass" && c.message !== undefined) e.output = c.message;
  if (c.timedOut) e.timedOut = true;
  if (c.details !== undefined) e.details = c.details;
  return e;
}
