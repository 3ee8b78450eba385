export { FeatureFlagController } from "./controller.js";
export type { FeatureFlagControllerOptions, FlagErrorInfo } from "./options.js";
export type { FlagReader, FlagsStatus } from "./reader.js";
export { defineFlags, type FlagDefinition, type FlagDefinitions, type KeysOfType } from "./define-flags.js";
export { createTestFlags, type TestFlags } from "./test-flags.js";
export {
  BucketingSchema,
  type Condition,
  ConditionSchema,
  type FlagConfig,
  FlagConfigSchema,
  FlagKeySchema,
  type FlagPatch,
  FlagPatchSchema,
  FlagTypeSchema,
  inferType,
  type Prerequisite,
  PrerequisiteSchema,
  type Rollout,
  RolloutSchema,
  type Rule,
  RuleSchema,
  type ScheduledChange,
  ScheduledChangeSchema,
  SEGMENT_PREFIX,
  type SegmentConfig,
  SegmentConfigSchema,
  type SegmentInput,
  type Serve,
  ServeSchema,
  type TenantOverride,
  TenantOverrideSchema,
  valueMatchesType,
} from "./config.js";
export {
  type EvaluationContext,
  type EvaluationDetails,
  type EvaluationErrorCode,
  type EvaluationReason,
  type FlagType,
  type FlagValueOf,
} from "./types.js";
export type { StaleFlag, StaleOptions } from "./stale.js";
export {
  type CancelScheduledChangeInput,
  CancelScheduleInput,
  ClearOverrideInput,
  type DefineSegmentInput,
  DeleteFlagInput,
  type ScheduleChangeInput,
  ScheduleInput,
  SegmentInputSchema,
  SetEnabledInput,
  SetFlagInput,
  SetRolloutInput,
  SetRulesInput,
  UpdateFlagInput,
} from "./inputs.js";
export { CONDITION_OPS, type ConditionOp } from "./targeting/ops.js";
export { unsafeRegexReason } from "./targeting/safe-regex.js";
export { createBucketer, opsBucket, type Bucketer, type BucketingMode, type BucketingOptions } from "./bucketing/bucketers.js";
export { murmur3 } from "./bucketing/murmur3.js";
export { buildClientPayload, type ClientPayloadOptions } from "./server/client-payload.js";
export { createClientFlagsHandler, type ClientFlagsHandlerOptions } from "./server/client-handler.js";
export {
  createClientSigningKey,
  signClientPayload,
  importSigningKey,
  type ClientSigningKey,
  type ClientSigningKeyPair,
} from "./server/client-signing.js";
export { FlagChangeRequests, type FlagChangeRequestsOptions } from "./approvals/change-requests.js";
export { FlagChangeSchema, type FlagChange, type PlannedChange } from "./approvals/change.js";
export { ApprovalRequiredError } from "./approvals/errors.js";
export { PrerequisiteCycleError } from "./prerequisites.js";
export type { EvaluationTelemetry } from "./telemetry.js";
export {
  importUnleash,
  importLaunchDarkly,
  importFlagd,
  applyImport,
  type ImportResult,
  type ImportedFlag,
  type Unmapped,
} from "./import/index.js";
