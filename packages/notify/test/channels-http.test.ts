import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DeliveryError,
  pagerDutyChannel,
  signWebhook,
  slackChannel,
  verifyWebhookSignature,
  verifyWebhookSignatureDetailed,
  webhookChannel,
  type AdminNotification,
} from "../src/index.js";
import { RecordingServer } from "./helpers/http-server.js";

const n: AdminNotification = {
  id: "ntf_1",
  subject: "Failed logins spike",
  body: "150 failed logins in 1h",
  severity: "high",
  type: "FAILED_LOGINS_SPIKE",
  tenantId: "acme",
  dedupeKey: "inc_42",
  createdAt: "2030-01-01T00:00:00.000Z",
};

async function deliveryError(p: Promise<unknown>): Promise<DeliveryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

let server: RecordingServer;
beforeAll(async () => {
  server = await new RecordingServer().start();
});
afterAll(() => server.close());

describe("generic webhook", () => {
  it("posts JSON with a timestamped HMAC-SHA256 signature receivers can verify", async () => {
    const secret = "whsec_test_secret_123";
    const now = Date.parse("2030-01-01T00:00:05.000Z");
    const ch = webhookChannel({ url: `${server.url}/hooks/abc`, secret, appName: "shop", now: () => now });
    const before = server.requests.length;
    await ch.send(n, { idempotencyKey: "idem-1", attempt: 1 });
    const req = server.requests[before]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/hooks/abc");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers["x-ops-timestamp"]).toBe(String(now / 1000));
    expect(req.headers["x-ops-idempotency-key"]).toBe("idem-1");
    expect(JSON.parse(req.body)).toEqual({ type: "admin_notification", app: "shop", idempotencyKey: "idem-1", notification: n });
    const sig = String(req.headers["x-ops-signature"]);
    expect(sig).toMatch(/^v1=[0-9a-f]{64}$/);
    const ts = String(req.headers["x-ops-timestamp"]);
    expect(verifyWebhookSignature({ secret, body: req.body, timestamp: ts, signature: sig, nowMs: now })).toBe(true);
    expect(verifyWebhookSignatureDetailed({ secret, body: req.body, timestamp: ts, signature: sig, nowMs: now })).toEqual({ ok: true });
    // Tampered body, wrong secret, replay after 5 minutes, missing headers: all refused, with the reason.
    const tampered = req.body.replace("150", "151");
    expect(verifyWebhookSignature({ secret, body: tampered, timestamp: ts, signature: sig, nowMs: now })).toBe(false);
    expect(verifyWebhookSignatureDetailed({ secret, body: tampered, timestamp: ts, signature: sig, nowMs: now })).toEqual({
      ok: false,
      reason: "mismatch",
    });
    expect(verifyWebhookSignatureDetailed({ secret: "other", body: req.body, timestamp: ts, signature: sig, nowMs: now })).toEqual({
      ok: false,
      reason: "mismatch",
    });
    expect(verifyWebhookSignatureDetailed({ secret, body: req.body, timestamp: ts, signature: sig, nowMs: now + 301_000 })).toEqual({
      ok: false,
      reason: "stale",
    });
    expect(verifyWebhookSignatureDetailed({ secret, body: req.body, timestamp: undefined, signature: sig })).toEqual({
      ok: false,
      reason: "missing",
    });
    expect(verifyWebhookSignatureDetailed({ secret, body: req.body, timestamp: ts, signature: "v1=zz", nowMs: now })).toEqual({
      ok: false,
      reason: "malformed",
    });
    for (const forged of [
      { secret, body: tampered, timestamp: ts, signature: sig },
      { secret: "other", body: req.body, timestamp: ts, signature: sig },
      { secret, body: req.body, timestamp: ts, signature: undefined },
    ])
      expect(verifyWebhookSignature({ ...forged, nowMs: now })).toBe(false);
  });

  it("a receiver written as `if (!verifyWebhookSignature(...))` rejects a forged request and accepts a real one", async () => {
    const secret = "whsec_receiver_secret_1";
    // The receiver exactly as the README writes it, on a real loopback server.
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (
          !verifyWebhookSignature({
            secret,
            body,
            timestamp: req.headers["x-ops-timestamp"] as string | undefined,
            signature: req.headers["x-ops-signature"] as string | undefined,
          })
        ) {
          res.writeHead(401).end("bad signature");
          return;
        }
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      const body = JSON.stringify({ type: "admin_notification", app: "shop" });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const real = signWebhook({ secret, body, timestamp: Number(timestamp) });
      const forged = signWebhook({ secret: "attacker-guess", body, timestamp: Number(timestamp) });
      const post = (signature: string) =>
        fetch(url, { method: "POST", body, headers: { "x-ops-timestamp": timestamp, "x-ops-signature": signature } });
      expect((await post(forged)).status).toBe(401);
      expect((await post(real)).status).toBe(200);
      const webhook = webhookChannel({ url, secret });
      await webhook.send(n, { idempotencyKey: "idem-real", attempt: 1 }); // our own channel passes it
    } finally {
      await new Promise((ok) => receiver.close(ok));
    }
  });

  it("classifies 5xx and 429 as temporary (with Retry-After), other 4xx as permanent, without leaking the URL", async () => {
    const url = `${server.url}/hooks/T000/SECRETPATH`;
    const ch = webhookChannel({ url, secret: "s3cr3t-key" });
    server.queue({ status: 503, body: "down" });
    const e1 = await deliveryError(ch.send(n));
    expect(e1).toMatchObject({ kind: "temporary", status: 503 });
    server.queue({ status: 429, headers: { "retry-after": "7" } });
    const e2 = await deliveryError(ch.send(n));
    expect(e2).toMatchObject({ kind: "temporary", status: 429, retryAfterMs: 7000 });
    server.queue({ status: 404, body: `no route for ${url}` });
    const e3 = await deliveryError(ch.send(n));
    expect(e3).toMatchObject({ kind: "permanent", status: 404 });
    for (const e of [e1, e2, e3]) {
      expect(e.message).toMatch(/^\[ops\/notify\] webhook/);
      expect(e.message).not.toContain("SECRETPATH");
      expect(e.message).not.toContain("s3cr3t-key");
    }
  });

  it("a hanging receiver times out as a temporary failure", async () => {
    server.queue("hang");
    const e = await deliveryError(webhookChannel({ url: `${server.url}/slow`, timeoutMs: 200 }).send(n));
    expect(e.kind).toBe("temporary");
    expect(e.message).toContain("timed out after 200 ms");
    server.releaseHung();
  });

  it("a refused connection is a temporary network error", async () => {
    const dead = await new RecordingServer().start();
    const url = `${dead.url}/gone/TOKEN123`;
    await dead.close();
    const e = await deliveryError(webhookChannel({ url }).send(n));
    expect(e.kind).toBe("temporary");
    expect(e.message).toContain("network error");
    expect(e.message).not.toContain("TOKEN123");
  });
});

describe("Slack incoming webhook", () => {
  it("posts text + blocks; success is 200 with body ok", async () => {
    const ch = slackChannel({ webhookUrl: `${server.url}/services/T1/B2/XXXX`, appName: "shop" });
    const before = server.requests.length;
    await ch.send({ ...n, link: "https://status.example.com/inc/42" });
    const req = server.requests[before]!;
    expect(req.path).toBe("/services/T1/B2/XXXX");
    const body = JSON.parse(req.body) as { text: string; blocks: { type: string }[] };
    expect(body.text).toBe(":red_circle: [shop] [HIGH] Failed logins spike");
    expect(body.blocks.map((b) => b.type)).toEqual(["header", "section", "context", "actions"]);
    expect(JSON.stringify(body.blocks)).toContain("150 failed logins in 1h");
    expect(JSON.stringify(body.blocks)).toContain("*Tenant:* acme");
  });

  it("resolve is sent as a RESOLVED message", async () => {
    const before = server.requests.length;
    await slackChannel({ webhookUrl: `${server.url}/services/x`, appName: "shop" }).send({ ...n, action: "resolve" });
    expect(JSON.parse(server.requests[before]!.body).text).toContain("[shop] [RESOLVED] Failed logins spike");
  });

  it("a 200 without ok, and Slack's 4xx errors, are permanent; 5xx temporary", async () => {
    const ch = slackChannel({ webhookUrl: `${server.url}/services/T1/B2/SLACKSECRET` });
    server.queue({ status: 200, body: "something else" });
    expect(await deliveryError(ch.send(n))).toMatchObject({ kind: "permanent", status: 200 });
    server.queue({ status: 404, body: "no_service" });
    const e = await deliveryError(ch.send(n));
    expect(e).toMatchObject({ kind: "permanent", status: 404 });
    expect(e.message).toContain("no_service");
    expect(e.message).not.toContain("SLACKSECRET");
    server.queue({ status: 500, body: "oops" });
    expect(await deliveryError(ch.send(n))).toMatchObject({ kind: "temporary" });
  });
});

describe("PagerDuty Events API v2", () => {
  const routingKey = "R0UTINGKEY0123456789abcdef012345";
  const ok = { status: 202, body: '{"status":"success","message":"Event processed","dedup_key":"x"}' };

  it("trigger: exact body with severity mapping, dedup_key and payload fields", async () => {
    const ch = pagerDutyChannel({ routingKey, baseUrl: server.url, appName: "shop" });
    server.queue(ok);
    const before = server.requests.length;
    await ch.send(n);
    const req = server.requests[before]!;
    expect(req.path).toBe("/v2/enqueue");
    expect(JSON.parse(req.body)).toEqual({
      routing_key: routingKey,
      event_action: "trigger",
      dedup_key: "inc_42",
      payload: {
        summary: "Failed logins spike",
        source: "shop",
        severity: "error",
        timestamp: "2030-01-01T00:00:00.000Z",
        class: "FAILED_LOGINS_SPIKE",
        group: "acme",
        custom_details: { body: "150 failed logins in 1h", tenantId: "acme" },
      },
    });
  });

  it("maps every severity to critical|error|warning|info", async () => {
    const ch = pagerDutyChannel({ routingKey, baseUrl: server.url });
    const seen: string[] = [];
    for (const severity of ["critical", "high", "medium", "low", "info"] as const) {
      server.queue(ok);
      const before = server.requests.length;
      await ch.send({ ...n, severity });
      seen.push((JSON.parse(server.requests[before]!.body) as { payload: { severity: string } }).payload.severity);
    }
    expect(seen).toEqual(["critical", "error", "warning", "info", "info"]);
  });

  it("acknowledge and resolve carry only routing_key, event_action and dedup_key", async () => {
    const ch = pagerDutyChannel({ routingKey, baseUrl: server.url });
    for (const action of ["acknowledge", "resolve"] as const) {
      server.queue(ok);
      const before = server.requests.length;
      await ch.send({ ...n, action });
      expect(JSON.parse(server.requests[before]!.body)).toEqual({ routing_key: routingKey, event_action: action, dedup_key: "inc_42" });
    }
  });

  it("limits dedup_key to 255 and summary to 1024 characters, keeping long keys distinct", async () => {
    const ch = pagerDutyChannel({ routingKey, baseUrl: server.url });
    const keys: string[] = [];
    for (const suffix of ["a", "b"]) {
      server.queue(ok);
      const before = server.requests.length;
      await ch.send({ ...n, dedupeKey: `${"k".repeat(400)}${suffix}`, subject: "s".repeat(3000) });
      const body = JSON.parse(server.requests[before]!.body) as { dedup_key: string; payload: { summary: string } };
      expect(body.dedup_key.length).toBeLessThanOrEqual(255);
      expect(body.payload.summary.length).toBeLessThanOrEqual(1024);
      keys.push(body.dedup_key);
    }
    expect(keys[0]).not.toBe(keys[1]);
  });

  it("400 is permanent, 429 temporary; the routing key never appears in errors", async () => {
    const ch = pagerDutyChannel({ routingKey, baseUrl: server.url });
    server.queue({
      status: 400,
      body: `{"status":"invalid event","message":"Event object is invalid","errors":["bad routing_key ${routingKey}"]}`,
    });
    const e = await deliveryError(ch.send(n));
    expect(e).toMatchObject({ kind: "permanent", status: 400 });
    expect(e.message).not.toContain(routingKey);
    server.queue({ status: 429, headers: { "retry-after": "2" } });
    expect(await deliveryError(ch.send(n))).toMatchObject({ kind: "temporary", retryAfterMs: 2000 });
  });
});
