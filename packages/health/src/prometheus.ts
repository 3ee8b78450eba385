import { ValidationError } from "@ops/core";
import type { HealthReport, HealthStatus } from "./types.js";

/** The content type of the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface PrometheusOptions {
  /** Metric name prefix. Default "ops_health". */
  prefix?: string;
  /** Whether the app is draining (adds `<prefix>_shutting_down`). */
  shuttingDown?: boolean;
}

const STATUSES: readonly HealthStatus[] = ["pass", "warn", "fail"];

/**
 * Prometheus text exposition of reports: per probe its status (a state set: one series per
 * status, 1 on the current one) and per check its status, up (1 unless failing), last duration in
 * seconds and numeric observed value. Messages are never exported (labels must stay bounded).
 * @throws ValidationError on a malformed prefix
 */
export function toPrometheus(reports: readonly HealthReport[], options: PrometheusOptions = {}): string {
  const p = options.prefix ?? "ops_health";
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(p))
    throw new ValidationError(`[ops/health] invalid toPrometheus options: prefix: expected a metric name prefix such as "ops_health"`, [
      { path: "prefix", message: 'expected a metric name prefix such as "ops_health"' },
    ]);
  const probeStatus: string[] = [];
  const checkStatus: string[] = [];
  const up: string[] = [];
  const duration: string[] = [];
  const observed: string[] = [];
  for (const r of reports) {
    const probe = r.probe ?? "readiness";
    for (const s of STATUSES) probeStatus.push(`${p}_status{probe="${esc(probe)}",status="${s}"} ${r.status === s ? 1 : 0}`);
    for (const c of r.checks) {
      const labels = `probe="${esc(probe)}",check="${esc(c.key)}",component="${esc(c.name)}",critical="${c.critical}"`;
      for (const s of STATUSES) checkStatus.push(`${p}_check_status{${labels},status="${s}"} ${c.status === s ? 1 : 0}`);
      up.push(`${p}_check_up{${labels}} ${c.ok ? 1 : 0}`);
      duration.push(`${p}_check_duration_seconds{${labels}} ${c.durationMs / 1000}`);
      if (typeof c.observedValue === "number" && Number.isFinite(c.observedValue))
        observed.push(`${p}_check_observed_value{${labels},unit="${esc(c.observedUnit ?? "")}"} ${c.observedValue}`);
    }
  }
  const out: string[] = [];
  const family = (name: string, help: string, lines: string[]) => {
    if (lines.length === 0) return;
    out.push(`# HELP ${p}_${name} ${help}`, `# TYPE ${p}_${name} gauge`, ...lines);
  };
  family("status", "Probe status: 1 on the current status (pass, warn = degraded, fail).", probeStatus);
  family("check_status", "Check status: 1 on the current status.", checkStatus);
  family("check_up", "1 when the check is not failing.", up);
  family("check_duration_seconds", "Duration of the check's last run.", duration);
  family("check_observed_value", "The check's last measured value, in the unit label.", observed);
  if (options.shuttingDown !== undefined)
    family("shutting_down", "1 while the process drains before exit.", [`${p}_shutting_down ${options.shuttingDown ? 1 : 0}`]);
  return `${out.join("\n")}\n`;
}

// Label values escape backslash, double quote and newline (exposition format).
function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
