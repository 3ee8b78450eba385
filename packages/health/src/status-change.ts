import type { AdminNotification, Notifier } from "@ops/core";
import { describeError } from "./scrub.js";
import type { HealthReport, HealthStatus, ProbeKind } from "./types.js";

/** A probe's status changed between two runs. */
export interface StatusChange {
  probe: ProbeKind;
  /** Undefined for the first run. */
  previous: HealthStatus | undefined;
  report: HealthReport;
}

export type StatusChangeListener = (change: StatusChange) => void | Promise<void>;

/**
 * Wraps listeners so they never throw into the check runner, and reports failures of the
 * listener itself through `onError` (scrubbed).
 */
export function safeListener(listener: StatusChangeListener, onError: (line: string) => void): StatusChangeListener {
  return (change) => {
    try {
      void Promise.resolve(listener(change)).catch((err: unknown) => onError(`[ops/health] status listener failed: ${describeError(err)}`));
    } catch (err) {
      onError(`[ops/health] status listener failed: ${describeError(err)}`);
    }
  };
}

/**
 * A listener that sends an admin notification (through the `Notifier` port, e.g. @ops/notify)
 * when a probe starts failing, and a `resolve` for the same `dedupeKey` when it recovers.
 * Passing and degraded changes are not notified.
 */
export function notifyOnFailure(notifier: Notifier, options: { serviceId?: string } = {}): StatusChangeListener {
  const service = options.serviceId ?? "app";
  return async ({ probe, previous, report }) => {
    const dedupeKey = `health:${service}:${probe}`;
    if (report.status === "fail") {
      const failing = report.checks.filter((c) => c.status === "fail");
      const notification: AdminNotification = {
        subject: `[${service}] ${probe} failing: ${failing.map((c) => c.key).join(", ")}`,
        body: failing.map((c) => `${c.key}: ${c.message ?? "failed"}${c.critical ? "" : " (non-critical)"}`).join("\n"),
        severity: probe === "liveness" ? "critical" : "high",
        type: "HEALTH_FAIL",
        dedupeKey,
        action: "trigger",
        createdAt: report.tsISO,
      };
      await notifier.notify(notification);
    } else if (previous === "fail") {
      await notifier.notify({
        subject: `[${service}] ${probe} recovered (${report.status})`,
        body: `${probe} is ${report.status} again.`,
        severity: "info",
        type: "HEALTH_RECOVERED",
        dedupeKey,
        action: "resolve",
        createdAt: report.tsISO,
      });
    }
  };
}
