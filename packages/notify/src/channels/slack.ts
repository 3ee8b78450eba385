import { DeliveryError } from "../delivery-error.js";
import { postJson } from "../http.js";
import { titleOf, type AdminNotification, type NotificationChannel, type SendContext } from "../notification.js";

export interface SlackChannelOptions {
  /** The incoming-webhook URL. Secret: its path is the credential. */
  webhookUrl: string;
  name?: string;
  appName?: string;
  timeoutMs?: number;
}

const EMOJI: Record<string, string> = {
  critical: ":rotating_light:",
  high: ":red_circle:",
  medium: ":large_orange_circle:",
  low: ":large_blue_circle:",
  info: ":information_source:",
};

/** Slack's limits: section text 3000, header 150 characters. */
function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** The Slack message: `text` (notifications and fallback) plus Block Kit `blocks`. */
export function slackMessage(n: AdminNotification, appName: string): { text: string; blocks: unknown[] } {
  const title = titleOf(n, appName);
  const emoji = n.action === "resolve" ? ":white_check_mark:" : n.action === "acknowledge" ? ":eyes:" : (EMOJI[n.severity] ?? "");
  const context = [`*Severity:* ${n.severity}`];
  if (n.type) context.push(`*Type:* ${n.type}`);
  if (n.tenantId) context.push(`*Tenant:* ${n.tenantId}`);
  if (n.dedupeKey) context.push(`*Key:* ${n.dedupeKey}`);
  const blocks: unknown[] = [
    { type: "header", text: { type: "plain_text", text: clip(`${title}`, 150), emoji: true } },
    { type: "section", text: { type: "mrkdwn", text: clip(`${emoji} ${n.body || n.subject}`, 3000) } },
    { type: "context", elements: [{ type: "mrkdwn", text: clip(context.join("  |  "), 3000) }] },
  ];
  if (n.link) blocks.push({ type: "actions", elements: [{ type: "button", text: { type: "plain_text", text: "Open" }, url: n.link }] });
  return { text: clip(`${emoji} ${title}`, 3000), blocks };
}

/**
 * Slack incoming webhook. Success is HTTP 200 with body `ok`; a 200 with anything else, and
 * 400/403/404/410 (`invalid_payload`, `invalid_token`, `no_service`, `channel_is_archived`), are
 * permanent; 429 and 5xx are temporary.
 */
export function slackChannel(options: SlackChannelOptions): NotificationChannel {
  const name = options.name ?? "slack";
  return {
    name,
    secrets: [options.webhookUrl],
    // Slack: about one message per second per webhook, short bursts tolerated.
    rateLimit: { perSecond: 1, burst: 3 },
    async send(n: AdminNotification, ctx?: SendContext) {
      const res = await postJson({
        channel: name,
        url: options.webhookUrl,
        body: JSON.stringify(slackMessage(n, options.appName ?? "app")),
        timeoutMs: options.timeoutMs ?? 10_000,
        signal: ctx?.signal,
        secrets: [],
      });
      if (res.status !== 200 || res.body.trim() !== "ok")
        throw new DeliveryError(`[ops/notify] ${name}: Slack answered ${res.status} without "ok"`, {
          kind: "permanent",
          status: res.status,
        });
    },
  };
}
