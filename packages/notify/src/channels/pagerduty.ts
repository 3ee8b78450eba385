import { stableId, type Severity } from "@ops/core";
import { postJson } from "../http.js";
import type { AdminNotification, NotificationChannel, SendContext } from "../notification.js";

export interface PagerDutyChannelOptions {
  /** Integration (routing) key of an Events API v2 service. Secret. */
  routingKey: string;
  name?: string;
  /** `payload.source` (default: the app name). */
  source?: string;
  appName?: string;
  /** Default https://events.pagerduty.com (tests point it at a loopback server). */
  baseUrl?: string;
  timeoutMs?: number;
}

/** PagerDuty knows four severities. */
export const PAGERDUTY_SEVERITY: Record<Severity, "critical" | "error" | "warning" | "info"> = {
  critical: "critical",
  high: "error",
  medium: "warning",
  low: "info",
  info: "info",
};

export const PD_MAX_DEDUP_KEY = 255;
export const PD_MAX_SUMMARY = 1024;

/** Keys over 255 characters keep a readable prefix plus a hash of the whole, so they stay unique. */
export function pagerDutyDedupKey(key: string): string {
  if (key.length <= PD_MAX_DEDUP_KEY) return key;
  const hash = stableId("pd-dedup", key);
  return `${key.slice(0, PD_MAX_DEDUP_KEY - hash.length - 1)}~${hash}`;
}

/** The Events API v2 body for one notification. */
export function pagerDutyEvent(n: AdminNotification, opts: { routingKey: string; source: string }): Record<string, unknown> {
  const action = n.action ?? "trigger";
  const dedupKey = pagerDutyDedupKey(n.dedupeKey ?? n.id ?? stableId(n.subject, n.createdAt));
  if (action !== "trigger") return { routing_key: opts.routingKey, event_action: action, dedup_key: dedupKey };
  const summary = n.subject.length <= PD_MAX_SUMMARY ? n.subject : `${n.subject.slice(0, PD_MAX_SUMMARY - 1)}…`;
  const custom: Record<string, unknown> = { body: n.body, ...(n.details ?? {}) };
  if (n.tenantId) custom["tenantId"] = n.tenantId;
  const event: Record<string, unknown> = {
    routing_key: opts.routingKey,
    event_action: "trigger",
    dedup_key: dedupKey,
    payload: {
      summary,
      source: opts.source,
      severity: PAGERDUTY_SEVERITY[n.severity],
      ...(n.createdAt ? { timestamp: n.createdAt } : {}),
      ...(n.type ? { class: n.type } : {}),
      ...(n.tenantId ? { group: n.tenantId } : {}),
      custom_details: custom,
    },
  };
  if (n.link) event["links"] = [{ href: n.link, text: "Details" }];
  return event;
}

/**
 * PagerDuty Events API v2: trigger, acknowledge and resolve on `dedup_key` (the notification's
 * `dedupeKey`, else its id). 202 is success; 400 permanent; 429 and 5xx temporary.
 */
export function pagerDutyChannel(options: PagerDutyChannelOptions): NotificationChannel {
  const name = options.name ?? "pagerduty";
  const url = `${(options.baseUrl ?? "https://events.pagerduty.com").replace(/\/+$/, "")}/v2/enqueue`;
  const source = options.source ?? options.appName ?? "app";
  return {
    name,
    secrets: [options.routingKey],
    // PagerDuty: about 120 events per minute per routing key.
    rateLimit: { perSecond: 2, burst: 10 },
    async send(n: AdminNotification, ctx?: SendContext) {
      await postJson({
        channel: name,
        url,
        body: JSON.stringify(pagerDutyEvent(n, { routingKey: options.routingKey, source })),
        timeoutMs: options.timeoutMs ?? 10_000,
        signal: ctx?.signal,
        secrets: [options.routingKey],
      });
    },
  };
}
