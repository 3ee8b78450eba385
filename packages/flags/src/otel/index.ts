export {
  createFlagTelemetry,
  type FlagTelemetry,
  type FlagTelemetryOptions,
  FLAG_EVALUATION_EVENT,
  FLAG_EVALUATIONS_METRIC,
} from "./telemetry.js";
export { OpsTelemetryHook } from "./hook.js";
