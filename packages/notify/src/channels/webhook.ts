import { postJson } from "../http.js";
import type { AdminNotification, NotificationChannel, SendContext } from "../notification.js";
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from "../signing.js";

export interface WebhookChannelOptions {
  /** Secret: never logged. */
  url: string;
  /** HMAC key; without it requests are unsigned. Secret. */
  secret?: string | undefined;
  name?: string;
  appName?: string;
  timeoutMs?: number;
  /** Unix-ms time source for the timestamp header (tests). */
  now?: () => number;
}

/**
 * Generic JSON webhook. Body: `{ type: "admin_notification", app, idempotencyKey, notification }`;
 * headers `x-ops-timestamp` (Unix seconds), `x-ops-signature` (`v1=` HMAC-SHA256 of
 * `"<timestamp>.<body>"`, see `verifyWebhookSignature`) and `x-ops-idempotency-key`.
 * 2xx is success; 408/425/429/5xx and network errors are temporary; other 4xx permanent.
 */
export function webhookChannel(options: WebhookChannelOptions): NotificationChannel {
  const now = options.now ?? Date.now;
  return {
    name: options.name ?? "webhook",
    secrets: [options.url, ...(options.secret ? [options.secret] : [])],
    async send(n: AdminNotification, ctx?: SendContext) {
      const idempotencyKey = ctx?.idempotencyKey ?? n.id ?? "";
      const body = JSON.stringify({ type: "admin_notification", app: options.appName ?? "app", idempotencyKey, notification: n });
      const timestamp = Math.floor(now() / 1000);
      const headers: Record<string, string> = { [TIMESTAMP_HEADER]: String(timestamp), [IDEMPOTENCY_HEADER]: idempotencyKey };
      if (options.secret) headers[SIGNATURE_HEADER] = signWebhook({ secret: options.secret, body, timestamp });
      await postJson({
        channel: options.name ?? "webhook",
        url: options.url,
        body,
        headers,
        timeoutMs: options.timeoutMs ?? 10_000,
        signal: ctx?.signal,
        secrets: [options.secret],
      });
    },
  };
}
