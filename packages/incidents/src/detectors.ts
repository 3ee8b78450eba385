import { parseInput, prefixedId, stableId, ValidationError, type JsonValue } from "@ops/core";
import { DetectionContextSchema, MetricsSchema } from "./schemas.js";
import type { DetectionContext, MetricsInput, SpineEvent } from "./types.js";
import { metric, toMs } from "./util.js";

/** What a detector reports when its incident is present. */
export interface Detection {
  /** 1 (most severe) .. 4. */
  severity_guess: number;
  /** Extra metrics for the snapshot (default: the input metrics). */
  metrics_snapshot?: Record<string, JsonValue>;
}

/** Turns a metrics object into zero or one incident of `incident_type`. Pure and synchronous. */
export interface Detector<T extends string = string> {
  incident_type: T;
  detect(metrics: MetricsInput, context: DetectionContext): Detection | null;
}

/**
 * Defines a custom detector (see the README's cart-abandonment example).
 * @throws ValidationError when `incident_type` is not UPPER_SNAKE_CASE.
 */
export function defineDetector<T extends string>(detector: Detector<T>): Detector<T> {
  if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(detector.incident_type))
    throw new ValidationError(`[ops/incidents] invalid detector: incident_type must be UPPER_SNAKE_CASE`, [
      { path: "incident_type", message: "expected an UPPER_SNAKE_CASE incident type" },
    ]);
  return detector;
}

export interface ThresholdDetectorOptions<T extends string> {
  incident_type: T;
  /** The metric compared, e.g. "checkout_abandonment_rate". */
  metric: string;
  /** Fires when the metric is strictly above this. */
  above: number;
  severity_guess?: number;
  /** Volume floor: do not fire on a ratio computed over too few events. */
  minVolume?: { metric: string; atLeast: number };
  /** More severe guess when the metric is above this too. */
  escalateAbove?: { value: number; severity_guess: number };
}

/**
 * A detector firing when one metric crosses a threshold, with an optional volume floor.
 * @throws ValidationError when `incident_type` is not UPPER_SNAKE_CASE.
 */
export function thresholdDetector<T extends string>(o: ThresholdDetectorOptions<T>): Detector<T> {
  return defineDetector({
    incident_type: o.incident_type,
    detect(metrics) {
      const v = metrics[o.metric];
      if (typeof v !== "number" || !(v > o.above)) return null;
      if (o.minVolume && metric(metrics, o.minVolume.metric) < o.minVolume.atLeast) return null;
      const escalated = o.escalateAbove && v > o.escalateAbove.value;
      return { severity_guess: escalated ? o.escalateAbove!.severity_guess : (o.severity_guess ?? 3) };
    },
  });
}

/** The window a detection belongs to: the same window always yields the same event id. */
export const DEFAULT_DERIVE_WINDOW_MS = 3_600_000;

/**
 * Runs detectors over one metrics snapshot. Event ids are stable per (type, tenant, window), so
 * running it again on the same window never yields a second id for the same incident.
 * @throws ValidationError when metrics or context are malformed (naming the field).
 */
export function deriveIncidents<T extends string>(
  metrics: unknown,
  context: unknown,
  detectors: ReadonlyArray<Detector<T>>,
  options: { windowMs?: number } = {},
): Array<SpineEvent<T>> {
  const m = parseInput(MetricsSchema, metrics ?? {}, { pkg: "incidents", what: "metrics" });
  const ctx = parseInput(DetectionContextSchema, context ?? {}, { pkg: "incidents", what: "context" }) as DetectionContext;
  const nowMs = toMs(ctx.now, Date.now());
  const windowMs = options.windowMs ?? DEFAULT_DERIVE_WINDOW_MS;
  const windowStart = Math.floor(nowMs / windowMs) * windowMs;
  const tenantId = ctx.tenantId ?? null;
  const out: Array<SpineEvent<T>> = [];
  for (const d of detectors) {
    const hit = d.detect(m, ctx);
    if (!hit) continue;
    const event: SpineEvent<T> = {
      event_id: `evt_${stableId("derive", d.incident_type, tenantId, windowStart, windowMs)}`,
      incident_type: d.incident_type,
      severity_guess: Math.min(4, Math.max(1, Math.round(hit.severity_guess))),
      occurred_at: new Date(nowMs).toISOString(),
      metrics_snapshot: hit.metrics_snapshot ?? { ...m },
    };
    if (tenantId !== null) event.tenant_id = tenantId;
    out.push(event);
  }
  return out;
}

/** A unique (not stable) event id, for events made by hand. */
export function newEventId(): string {
  return prefixedId("evt");
}
