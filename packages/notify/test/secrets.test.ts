import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, type AuditSinkEntry } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, createOutboxWorker, emailChannel, pagerDutyChannel, slackChannel, webhookChannel } from "../src/index.js";
import { RecordingServer } from "./helpers/http-server.js";
import { startSmtp } from "./helpers/smtp.js";

const WEBHOOK_TOKEN = "/hooks/tok_9f8e7d6c5b4a";
const HMAC_SECRET = "hmac-secret-4242";
const SLACK_PATH = "/services/T0AAA/B0BBB/slacksecret123";
const ROUTING_KEY = "pdroutingkey0123456789abcdef0000";
const SMTP_PASS = "smtp-pw-#6789";
const SECRETS = [
  WEBHOOK_TOKEN,
  HMAC_SECRET,
  SLACK_PATH,
  "slacksecret123",
  "tok_9f8e7d6c5b4a",
  ROUTING_KEY,
  SMTP_PASS,
  Buffer.from(SMTP_PASS).toString("base64"),
];

let server: RecordingServer;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
beforeAll(async () => {
  // A receiver that echoes the request (URL, headers and body, as some error pages do) with a 400.
  server = await new RecordingServer({ status: 400 }).start();
  smtp = await startSmtp({ user: "mailer", pass: "the-real-one" });
});
afterAll(async () => {
  await server.close();
  await smtp.close();
});

describe("secrets never reach logs, errors, the outbox or audit metadata", () => {
  it("across every channel's failure paths", async () => {
    const clock = new ManualClock("2030-01-01T00:00:00.000Z");
    const store = new MemoryOutboxStore();
    const lines: string[] = [];
    const audits: AuditSinkEntry[] = [];
    const channels = [
      webhookChannel({ name: "hook", url: `${server.url}${WEBHOOK_TOKEN}`, secret: HMAC_SECRET }),
      slackChannel({ webhookUrl: `${server.url}${SLACK_PATH}` }),
      pagerDutyChannel({ routingKey: ROUTING_KEY, baseUrl: server.url }),
      // Wrong password: the SMTP server refuses AUTH (nodemailer's error carries the AUTH command).
      emailChannel({
        to: "ops@example.com",
        from: "a@example.com",
        smtp: { host: "127.0.0.1", port: smtp.port, user: "mailer", pass: SMTP_PASS },
        timeoutMs: 5000,
      }),
    ];
    const echo = (path: string) => ({ status: 400, body: `bad request to ${server.url}${path} key=${ROUTING_KEY} sig=${HMAC_SECRET}` });
    server.queue(echo(WEBHOOK_TOKEN), echo(SLACK_PATH), echo("/v2/enqueue"));
    const notifier = createNotifier({ store, channels, clock });
    const worker = createOutboxWorker({
      store,
      channels,
      clock,
      logger: {
        info: (e, f) => lines.push(JSON.stringify({ e, ...f })),
        warn: (e, f) => lines.push(JSON.stringify({ e, ...f })),
        error: (e, f) => lines.push(JSON.stringify({ e, ...f })),
      },
      audit: { record: async (entry) => void audits.push(entry) },
    });
    await notifier.enqueue({ subject: "incident", body: "b", severity: "critical", dedupeKey: "inc-1" });
    const r = await worker.runOnce();
    expect(r.dead).toBe(4);
    await worker.stop();
    const dead = (await store.list({ status: "dead" })).items;
    expect(dead.length).toBe(4);
    const haystacks = {
      logs: lines.join("\n"),
      audit: JSON.stringify(audits),
      outbox: JSON.stringify(dead),
    };
    expect(audits.length).toBe(4);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const [where, text] of Object.entries(haystacks))
      for (const s of SECRETS) expect(text.includes(s), `${where} contains a secret`).toBe(false);
    // The reasons are still useful without the secrets.
    expect(dead.map((m) => m.lastError).join("\n")).toMatch(/HTTP 400/);
    expect(dead.find((m) => m.channel === "email")!.lastError).toMatch(/EAUTH 535/);
  });
});
