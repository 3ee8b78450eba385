import { metrics, type Attributes, type MeterProvider } from "@opentelemetry/api";
import { logs, type LoggerProvider } from "@opentelemetry/api-logs";
import type { FlagReader } from "../reader.js";
import type { EvaluationTelemetry } from "../telemetry.js";
import type { EvaluationContext, EvaluationDetails } from "../types.js";

/** The OpenTelemetry event name for one evaluation (semantic conventions, feature flags). */
export const FLAG_EVALUATION_EVENT = "feature_flag.evaluation";
/** Observable counter of evaluations per flag (all of them, not sampled). */
export const FLAG_EVALUATIONS_METRIC = "ops.feature_flag.evaluations";

export interface FlagTelemetryOptions {
  /** Default: the global provider (`logs.getLoggerProvider()`). */
  loggerProvider?: LoggerProvider;
  /** Default: the global provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Fraction of evaluations emitted as events, 0..1 (default 0.01). Counts are never sampled. */
  sampleRate?: number;
  /** `feature_flag.provider.name` (default "@ops/flags"). */
  providerName?: string;
  /** `feature_flag.set.id`, e.g. the environment. */
  setId?: string;
  /** Add `feature_flag.context.id` (the user id / targeting key). Off by default: no user identifiers. */
  includeContextId?: boolean;
  /** Add `feature_flag.result.value` (values can be sensitive or large). Off by default. */
  includeValue?: boolean;
  /** Random source for sampling (tests). */
  random?: () => number;
}

/** The OpenTelemetry evaluation telemetry: pass it as the controller's `telemetry` option. */
export interface FlagTelemetry extends EvaluationTelemetry {
  /**
   * Reports `reader`'s per-flag evaluation counts (the same counters `staleFlags` uses) as the
   * observable counter `ops.feature_flag.evaluations`. Returns a function that stops it.
   */
  observe(reader: FlagReader): () => void;
}

/** OpenFeature's reasons and error codes in the conventions' lowercase snake_case. */
const lower = new Map<string, string>();
function snake(s: string): string {
  let v = lower.get(s);
  if (v === undefined) lower.set(s, (v = s.toLowerCase()));
  return v;
}

/** Attributes of one evaluation, by the OpenTelemetry semantic conventions for feature flags. */
export function evaluationAttributes(
  d: EvaluationDetails,
  ctx: EvaluationContext,
  o: { providerName: string; setId?: string | undefined; includeContextId: boolean; includeValue: boolean },
): Attributes {
  const a: Attributes = {
    "feature_flag.key": d.flagKey,
    "feature_flag.provider.name": o.providerName,
    "feature_flag.result.reason": snake(d.reason),
  };
  if (d.variant !== null) a["feature_flag.result.variant"] = d.variant;
  if (o.setId !== undefined) a["feature_flag.set.id"] = o.setId;
  if (d.errorCode !== null) {
    a["error.type"] = snake(d.errorCode);
    if (d.errorMessage) a["error.message"] = d.errorMessage;
  }
  if (o.includeValue) {
    const v = d.value;
    a["feature_flag.result.value"] = typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : JSON.stringify(v);
  }
  if (o.includeContextId) {
    const id = ctx.targetingKey ?? ctx.userId;
    if (typeof id === "string") a["feature_flag.context.id"] = id;
  }
  return a;
}

/**
 * Emits sampled `feature_flag.evaluation` events (through the OpenTelemetry Logs API) with the
 * semantic conventions' attribute names, and per-flag evaluation counts as a metric.
 * @throws RangeError for a sampleRate outside 0..1
 */
export function createFlagTelemetry(options: FlagTelemetryOptions = {}): FlagTelemetry {
  const rate = options.sampleRate ?? 0.01;
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`[ops/flags] sampleRate: expected a number in 0..1, got ${String(rate)}`);
  const random = options.random ?? Math.random;
  const attrs = {
    providerName: options.providerName ?? "@ops/flags",
    setId: options.setId,
    includeContextId: options.includeContextId === true,
    includeValue: options.includeValue === true,
  };
  const logger = (options.loggerProvider ?? logs.getLoggerProvider()).getLogger("@ops/flags");
  return {
    record(d, ctx) {
      if (rate === 0 || (rate < 1 && random() >= rate)) return;
      try {
        logger.emit({ eventName: FLAG_EVALUATION_EVENT, attributes: evaluationAttributes(d, ctx, attrs) });
      } catch {
        // Telemetry never breaks an evaluation.
      }
    },
    observe(reader) {
      const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter("@ops/flags");
      const counter = meter.createObservableCounter(FLAG_EVALUATIONS_METRIC, {
        description: "Flag evaluations since the process started, per flag",
        unit: "{evaluation}",
      });
      const callback = (result: { observe(value: number, attributes: Attributes): void }) => {
        const state = reader.localState;
        for (const key of state.keys()) {
          const n = state.get(key)?.evaluations ?? 0;
          if (n > 0)
            result.observe(n, {
              "feature_flag.key": key,
              "feature_flag.provider.name": attrs.providerName,
              ...(attrs.setId ? { "feature_flag.set.id": attrs.setId } : {}),
            });
        }
      };
      counter.addCallback(callback);
      return () => counter.removeCallback(callback);
    },
  };
}
