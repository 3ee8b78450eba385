import { describe, expect, it } from "vitest";
import { ConfigError, ManualClock } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifierFromEnv, loadNotifyEnv } from "../src/index.js";
import { RecordingServer } from "./helpers/http-server.js";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration from the environment", () => {
  it("defaults to log mode with a JSON log channel", () => {
    const cfg = loadNotifyEnv({});
    expect(cfg).toMatchObject({ appName: "app", notifyMode: "log" });
    const { notifier } = createNotifierFromEnv({ store: new MemoryOutboxStore(), env: {} });
    expect(notifier).toBeDefined();
  });

  it("names the bad variable and never echoes a secret value", () => {
    const secretUrl = "ftp://hooks.example.com/T0/SECRET";
    const e1 = configError(() => loadNotifyEnv({ OPSSPINE_NOTIFY_MODE: "webhook", OPSSPINE_WEBHOOK_URL: secretUrl }));
    expect(e1.message).toContain("OPSSPINE_WEBHOOK_URL");
    expect(e1.message).not.toContain("SECRET");
    const e2 = configError(() => loadNotifyEnv({ OPSSPINE_NOTIFY_MODE: "pager" }));
    expect(e2.message).toContain("OPSSPINE_NOTIFY_MODE: expected one of webhook, email, log");
    const e3 = configError(() => loadNotifyEnv({ OPSSPINE_NOTIFY_MODE: "email", OPSSPINE_ADMIN_EMAIL: "ops@example.com" }));
    expect(e3.message).toContain("OPSSPINE_SMTP_URL: required when OPSSPINE_NOTIFY_MODE=email");
    const e4 = configError(() =>
      loadNotifyEnv({
        OPSSPINE_NOTIFY_MODE: "email",
        OPSSPINE_ADMIN_EMAIL: "ops@example.com",
        OPSSPINE_SMTP_URL: "http://u:hunter22@mail",
      }),
    );
    expect(e4.message).toContain("OPSSPINE_SMTP_URL: expected smtp://");
    expect(e4.message).not.toContain("hunter22");
    const e5 = configError(() => loadNotifyEnv({ OPSSPINE_WEBHOOK_FORMAT: "teams" }));
    expect(e5.message).toContain("OPSSPINE_WEBHOOK_FORMAT");
    const e6 = configError(() => loadNotifyEnv({ OPSSPINE_NOTIFY_MODE: "email" }));
    expect(e6.message).toContain("OPSSPINE_ADMIN_EMAIL");
  });

  it("parses SMTP settings and detects Slack webhook URLs", () => {
    const cfg = loadNotifyEnv({
      OPSSPINE_NOTIFY_MODE: "email",
      OPSSPINE_ADMIN_EMAIL: "ops@example.com",
      OPSSPINE_SMTP_URL: "smtps://mailer:p%40ss@smtp.example.com",
    });
    expect(cfg.smtp).toEqual({ host: "smtp.example.com", port: 465, secure: true, user: "mailer", pass: "p@ss" });
    expect(
      loadNotifyEnv({ OPSSPINE_NOTIFY_MODE: "webhook", OPSSPINE_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X" }).webhookFormat,
    ).toBe("slack");
    expect(loadNotifyEnv({ OPSSPINE_NOTIFY_MODE: "webhook", OPSSPINE_WEBHOOK_URL: "https://example.com/hook" }).webhookFormat).toBe(
      "generic",
    );
  });

  it("webhook mode end to end: a signed webhook, plus PagerDuty for high severities", async () => {
    const server = await new RecordingServer().start();
    server.setFallback({ status: 202, body: "{}" });
    try {
      const clock = new ManualClock("2030-01-01T00:00:00.000Z");
      const { notifier, worker } = createNotifierFromEnv({
        store: new MemoryOutboxStore(),
        clock,
        env: {
          APP_NAME: "shop",
          OPSSPINE_NOTIFY_MODE: "webhook",
          OPSSPINE_WEBHOOK_URL: `${server.url}/in/hook`,
          OPSSPINE_WEBHOOK_SECRET: "sekret",
          OPSSPINE_PAGERDUTY_ROUTING_KEY: "pdkey",
          OPSSPINE_PAGERDUTY_URL: server.url,
        },
        worker: { logger: { info() {}, warn() {}, error() {} } },
      });
      await notifier.notify({ subject: "low thing", body: "b", severity: "low" });
      await notifier.notify({ subject: "big thing", body: "b", severity: "high", dedupeKey: "inc-1" });
      expect((await worker.runOnce()).delivered).toBe(3);
      const paths = server.requests.map((r) => r.path).sort();
      expect(paths).toEqual(["/in/hook", "/in/hook", "/v2/enqueue"]);
      expect(server.requests.every((r) => r.path !== "/in/hook" || typeof r.headers["x-ops-signature"] === "string")).toBe(true);
      await worker.stop();
    } finally {
      await server.close();
    }
  });
});
