export {
  type DetectionContext,
  type JsonObject,
  type MetricsInput,
  type Playbook,
  type PlaybookResponse,
  type RecommendedFlag,
  type Runbook,
  type SpineEvent,
  type SpineResponse,
} from "./types.js";
export { PlaybookRegistry, createPlaybookRegistry, runAuthOpsSpine } from "./registry.js";
export { AUTH_PLAYBOOKS } from "./playbooks/index.js";
export {
  DEFAULT_DERIVE_WINDOW_MS,
  defineDetector,
  deriveIncidents,
  type Detection,
  type Detector,
  newEventId,
  thresholdDetector,
  type ThresholdDetectorOptions,
} from "./detectors.js";
export {
  AUTH_METRICS,
  authDetectors,
  type AuthThresholds,
  DEFAULT_AUTH_THRESHOLDS,
  deriveAuthIncidents,
} from "./derive.js";
export {
  type AuthSignal,
  breachKey,
  createSignalRecorder,
  DEFAULT_IDENTITY_RULES,
  eventKey,
  type IdentityRule,
  type RecorderDeadLetter,
  type RecorderStats,
  SignalRecorder,
  type SignalRecorderOptions,
  THRESHOLD_EVENT,
} from "./recorder.js";
export {
  DEFAULT_DETECTION_RULES,
  type DetectionRule,
  type EvaluateOptions,
  evaluateRules,
  firingConditions,
  type Finding,
} from "./detection.js";
export type { IncidentData, MitigationState, MitigationStatus, AppliedFlag, Transition } from "./incident-data.js";
export { IncidentManager, SPINE_ACTOR, fingerprintOf, type IncidentManagerOptions } from "./lifecycle.js";
export {
  type ApprovalHook,
  type MitigationMode,
  type MitigationPolicy,
  type MitigationResult,
  Mitigator,
} from "./mitigation.js";
export {
  activeSilence,
  DEFAULT_INHIBITIONS,
  type IncidentMatcher,
  type InhibitionRule,
  inhibitor,
  matches,
  type Silence,
  SilenceBook,
} from "./noise.js";
export {
  DEFAULT_TIMERS,
  groupDedupeKey,
  type NotificationTimers,
  type NotifyPassReport,
} from "./notifications.js";
export { createOpsRuntime, OpsRuntime, type OpsRuntimeOptions, type TickReport } from "./runtime.js";
export {
  createAuthOpsHandler,
  toNodeHandler,
  toFastifyHandler,
  type AuthOpsHandlerOptions,
  type FastifyRequestLike,
  type FastifyReplyLike,
} from "./http.js";
export {
  createTriage,
  PRIOR_WEIGHTS,
  Triage,
  TRIAGE_FEATURES,
  type TriageExplanation,
  type TriageFeature,
  type TriageOptions,
  type TriageOutcome,
  type TriageScore,
} from "./triage.js";
