export {
  AdminNotificationSchema,
  parseNotification,
  titleOf,
  type AdminNotification,
  type NotificationProvider,
  type NotificationChannel,
  namedChannel,
  type SendContext,
  type NormalizedNotification,
} from "./notification.js";
export { DeliveryError, kindOfStatus, parseRetryAfter, type FailureKind } from "./delivery-error.js";
export {
  signWebhook,
  verifyWebhookSignature,
  verifyWebhookSignatureDetailed,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  IDEMPOTENCY_HEADER,
  type VerifyResult,
  type VerifyWebhookInput,
} from "./signing.js";
export { redactSecrets, safeOrigin } from "./secrets.js";
export { logChannel, type LogChannelOptions } from "./channels/log.js";
export { webhookChannel, type WebhookChannelOptions } from "./channels/webhook.js";
export { slackChannel, slackMessage, type SlackChannelOptions } from "./channels/slack.js";
export { emailChannel, emailContent, type EmailChannelOptions } from "./channels/email.js";
export {
  pagerDutyChannel,
  pagerDutyEvent,
  pagerDutyDedupKey,
  PAGERDUTY_SEVERITY,
  type PagerDutyChannelOptions,
} from "./channels/pagerduty.js";
export { backoffDelay, type BackoffOptions } from "./backoff.js";
export { ChannelRateLimiter, type RateLimit } from "./rate-limiter.js";
export { Router, quietUntil, type Route, type QuietHours } from "./routing.js";
export {
  createNotifier,
  OutboxNotifier,
  type NotifierOptions,
  type NotifyReceipt,
  type EscalationPolicy,
  type OutboxPayload,
} from "./notifier.js";
export { createOutboxWorker, type OutboxDeadLetter, OutboxWorker, type OutboxWorkerOptions, type RunResult } from "./worker.js";
export type { WorkerStatsSnapshot, StatCounts } from "./worker-stats.js";
export { jsonLogger, type NotifyLogger } from "./logger.js";
export { createNotifierFromEnv, loadNotifyEnv, channelsFromEnv, type NotifyEnvConfig, type FromEnvOptions } from "./from-env.js";
