import type { EvaluationContext, EvaluationDetails } from "./types.js";

/**
 * Receives evaluations from the hot path (`FeatureFlagController({ telemetry })`). `record` runs
 * synchronously inside `evaluate`: it must be cheap (sample first) and must not throw.
 * `createFlagTelemetry` from `@ops/flags/otel` is the OpenTelemetry implementation.
 */
export interface EvaluationTelemetry {
  record(details: EvaluationDetails, context: EvaluationContext): void;
}
