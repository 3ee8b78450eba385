import { ConfigError, loadOpsEnv, type AuditSink, type Clock, type OpsEnvConfig, type OutboxStore, type ValidationIssue } from "@ops/core";
import { emailChannel } from "./channels/email.js";
import { logChannel } from "./channels/log.js";
import { pagerDutyChannel } from "./channels/pagerduty.js";
import { slackChannel } from "./channels/slack.js";
import { webhookChannel } from "./channels/webhook.js";
import type { NotificationChannel } from "./notification.js";
import { createNotifier, type NotifierOptions, type OutboxNotifier } from "./notifier.js";
import type { Route } from "./routing.js";
import { createOutboxWorker, type OutboxWorker, type OutboxWorkerOptions } from "./worker.js";

/** Everything the environment configures, secrets included (never log this object). */
export interface NotifyEnvConfig extends OpsEnvConfig {
  webhookSecret: string | undefined;
  webhookFormat: "slack" | "generic";
  smtp: { host: string; port: number; secure: boolean; user?: string; pass?: string } | undefined;
  emailFrom: string | undefined;
  pagerDutyRoutingKey: string | undefined;
  pagerDutyUrl: string | undefined;
}

const pick = (env: Record<string, string | undefined>, k: string) => {
  const v = env[k]?.trim();
  return v ? v : undefined;
};

/**
 * Reads `APP_NAME` and the `OPSSPINE_*` variables (through `loadOpsEnv`) plus the channel settings they imply:
 * `OPSSPINE_WEBHOOK_SECRET` (HMAC key for generic webhooks), `OPSSPINE_WEBHOOK_FORMAT`
 * (slack | generic; default slack for hooks.slack.com URLs), `OPSSPINE_SMTP_URL`
 * (smtp[s]://user:pass@host:port, required for email), `OPSSPINE_EMAIL_FROM`,
 * `OPSSPINE_PAGERDUTY_ROUTING_KEY` and `OPSSPINE_PAGERDUTY_URL`.
 * @throws ConfigError naming every bad variable, never echoing a value.
 */
export function loadNotifyEnv(env: Record<string, string | undefined> = process.env): NotifyEnvConfig {
  const base = loadOpsEnv(env);
  const issues: ValidationIssue[] = [];
  const format = pick(env, "OPSSPINE_WEBHOOK_FORMAT")?.toLowerCase();
  if (format !== undefined && format !== "slack" && format !== "generic")
    issues.push({ path: "OPSSPINE_WEBHOOK_FORMAT", message: "expected slack or generic" });
  let smtp: NotifyEnvConfig["smtp"];
  const smtpUrl = pick(env, "OPSSPINE_SMTP_URL");
  if (smtpUrl !== undefined) {
    try {
      const u = new URL(smtpUrl);
      if (u.protocol !== "smtp:" && u.protocol !== "smtps:") throw new Error("protocol");
      const secure = u.protocol === "smtps:";
      smtp = {
        host: u.hostname,
        port: u.port ? Number(u.port) : secure ? 465 : 587,
        secure,
        ...(u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : {}),
      };
    } catch {
      issues.push({ path: "OPSSPINE_SMTP_URL", message: "expected smtp://user:pass@host:port or smtps://..." });
    }
  } else if (base.notifyMode === "email") issues.push({ path: "OPSSPINE_SMTP_URL", message: "required when OPSSPINE_NOTIFY_MODE=email" });
  const from = pick(env, "OPSSPINE_EMAIL_FROM");
  if (from !== undefined && !/^[^\s@<>]+@[^\s@<>]+$|^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(from))
    issues.push({ path: "OPSSPINE_EMAIL_FROM", message: "expected an address such as ops@example.com or Name <ops@example.com>" });
  const pdUrl = pick(env, "OPSSPINE_PAGERDUTY_URL");
  if (pdUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(pdUrl))
    issues.push({ path: "OPSSPINE_PAGERDUTY_URL", message: "expected an http(s) URL" });
  if (issues.length > 0)
    throw new ConfigError(`[ops/notify] invalid environment: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, issues);
  const slackHost = base.webhookUrl !== undefined && /^https:\/\/hooks\.slack\.com\//.test(base.webhookUrl);
  return {
    ...base,
    webhookSecret: pick(env, "OPSSPINE_WEBHOOK_SECRET"),
    webhookFormat: (format as "slack" | "generic" | undefined) ?? (slackHost ? "slack" : "generic"),
    smtp,
    emailFrom: from,
    pagerDutyRoutingKey: pick(env, "OPSSPINE_PAGERDUTY_ROUTING_KEY"),
    pagerDutyUrl: pdUrl,
  };
}

/** The channels the environment describes: the OPSSPINE_NOTIFY_MODE one, plus PagerDuty when keyed. */
export function channelsFromEnv(cfg: NotifyEnvConfig): NotificationChannel[] {
  const appName = cfg.appName;
  const out: NotificationChannel[] = [];
  if (cfg.notifyMode === "log") out.push(logChannel({ appName }));
  if (cfg.notifyMode === "webhook" && cfg.webhookUrl)
    out.push(
      cfg.webhookFormat === "slack"
        ? slackChannel({ name: "webhook", webhookUrl: cfg.webhookUrl, appName })
        : webhookChannel({ name: "webhook", url: cfg.webhookUrl, secret: cfg.webhookSecret, appName }),
    );
  if (cfg.notifyMode === "email" && cfg.smtp && cfg.adminEmail)
    out.push(emailChannel({ to: cfg.adminEmail, from: cfg.emailFrom ?? cfg.adminEmail, smtp: cfg.smtp, appName }));
  if (cfg.pagerDutyRoutingKey)
    out.push(
      pagerDutyChannel({ routingKey: cfg.pagerDutyRoutingKey, appName, ...(cfg.pagerDutyUrl ? { baseUrl: cfg.pagerDutyUrl } : {}) }),
    );
  return out;
}

export interface FromEnvOptions {
  store: OutboxStore;
  env?: Record<string, string | undefined>;
  clock?: Clock;
  audit?: AuditSink;
  notifier?: Partial<Omit<NotifierOptions, "store" | "channels">>;
  worker?: Partial<Omit<OutboxWorkerOptions, "store" | "channels">>;
}

/**
 * Notifications configured from the environment in one call: channels, a notifier and a worker over
 * `store`. With PagerDuty configured, critical and high notifications also page.
 * Call `worker.start()` to begin sending and `worker.stop()` on shutdown.
 * @throws ConfigError naming the bad variable.
 */
export function createNotifierFromEnv(options: FromEnvOptions): {
  notifier: OutboxNotifier;
  worker: OutboxWorker;
  config: NotifyEnvConfig;
} {
  const config = loadNotifyEnv(options.env);
  const channels = channelsFromEnv(config);
  const main = channels[0]!.name;
  const routes: Route[] = config.pagerDutyRoutingKey ? [{ minSeverity: "high", channels: [main, "pagerduty"] }, { channels: [main] }] : [];
  const common = { ...(options.clock ? { clock: options.clock } : {}), ...(options.audit ? { audit: options.audit } : {}) };
  const notifier = createNotifier({ routes, ...options.notifier, ...common, store: options.store, channels });
  const worker = createOutboxWorker({
    ...options.worker,
    ...common,
    store: options.store,
    channels,
    secrets: [
      config.webhookUrl,
      config.webhookSecret,
      config.smtp?.pass,
      config.pagerDutyRoutingKey,
      ...(options.worker?.secrets ?? []),
    ].filter((s): s is string => s !== undefined),
  });
  return { notifier, worker, config };
}
