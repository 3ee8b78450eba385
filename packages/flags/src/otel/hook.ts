import type { EvaluationDetails as OFDetails, FlagValue, Hook, HookContext } from "@openfeature/server-sdk";
import type { EvaluationTelemetry } from "../telemetry.js";
import type { EvaluationContext, EvaluationDetails, EvaluationReason, EvaluationErrorCode } from "../types.js";

/**
 * An OpenFeature hook that reports every evaluation (of any provider) to an
 * `EvaluationTelemetry`, e.g. `createFlagTelemetry(...)`: `OpenFeature.addHooks(new OpsTelemetryHook(t))`.
 */
export class OpsTelemetryHook implements Hook {
  constructor(private readonly telemetry: EvaluationTelemetry) {}

  finally(hookContext: Readonly<HookContext<FlagValue>>, details: OFDetails<FlagValue>): void {
    const d: EvaluationDetails = {
      flagKey: details.flagKey,
      value: details.value as EvaluationDetails["value"],
      variant: details.variant ?? null,
      reason: (details.reason ?? "UNKNOWN") as EvaluationReason,
      ruleId: null,
      errorCode: (details.errorCode ?? null) as EvaluationErrorCode | null,
      errorMessage: details.errorMessage ?? null,
    };
    this.telemetry.record(d, hookContext.context as EvaluationContext);
  }
}
