import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, createOutboxWorker, slackChannel, webhookChannel, type NotifyLogger } from "../src/index.js";
import { RecordingServer } from "./helpers/http-server.js";

const T0 = "2030-01-01T12:00:00.000Z";
let server: RecordingServer;
beforeAll(async () => {
  server = await new RecordingServer().start();
});
afterAll(() => server.close());

function setup(over: { maxAgeMs?: number; maxAttempts?: number; timeoutMs?: number; leaseMs?: number; path?: string } = {}) {
  const clock = new ManualClock(T0);
  const store = new MemoryOutboxStore();
  const logs: string[] = [];
  const logger: NotifyLogger = {
    info: (e, f) => logs.push(JSON.stringify({ e, ...f })),
    warn: (e, f) => logs.push(JSON.stringify({ e, ...f })),
    error: (e, f) => logs.push(JSON.stringify({ e, ...f })),
  };
  const path = over.path ?? `/hook/${Math.random().toString(36).slice(2)}`;
  const channels = [webhookChannel({ name: "hook", url: `${server.url}${path}`, timeoutMs: over.timeoutMs ?? 2000 })];
  const notifier = createNotifier({ store, channels, clock, dedupeWindowMs: 0 });
  const worker = createOutboxWorker({
    store,
    channels,
    clock,
    logger,
    random: () => 0.5,
    backoff: { baseMs: 1000, maxMs: 60_000 },
    leaseMs: over.leaseMs ?? 30_000,
    timeoutMs: over.timeoutMs ?? 2000,
    ...(over.maxAgeMs ? { maxAgeMs: over.maxAgeMs } : {}),
    ...(over.maxAttempts ? { maxAttempts: over.maxAttempts } : {}),
  });
  const hits = () => server.requests.filter((r) => r.path === path);
  return { clock, store, notifier, worker, logs, hits, path };
}

const alert = { subject: "DB down", body: "primary unreachable", severity: "critical" as const };

describe("outbox worker delivery", () => {
  it("retries a receiver that fails twice with growing backoff, then delivers once", async () => {
    const { clock, store, notifier, worker, hits } = setup();
    server.queue({ status: 503 }, { status: 502 });
    const r = await notifier.enqueue(alert);
    const id = r.messages[0]!.messageId;
    expect((await worker.runOnce()).retried).toBe(1);
    const m1 = await store.get({ id });
    // attempt 1: step 1000 ms, equal jitter at random 0.5 -> 750 ms
    expect(m1).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: new Date(clock.now() + 750).toISOString() });
    expect(m1!.lastError).toContain("HTTP 503");
    expect((await worker.runOnce()).claimed).toBe(0); // not due yet
    clock.advance(750);
    expect((await worker.runOnce()).retried).toBe(1);
    const m2 = await store.get({ id });
    expect(Date.parse(m2!.nextAttemptAt) - clock.now()).toBe(1500); // attempt 2: step 2000 -> 1500
    clock.advance(1500);
    expect((await worker.runOnce()).delivered).toBe(1);
    expect(await store.get({ id })).toMatchObject({ status: "delivered", attempts: 3 });
    expect(hits().length).toBe(3);
    // Every attempt carries the same idempotency key, so the receiver can dedupe.
    expect(new Set(hits().map((h) => h.headers["x-ops-idempotency-key"])).size).toBe(1);
    expect(worker.stats()).toMatchObject({ delivered: 1, temporaryFailures: 2, permanentFailures: 0 });
  });

  it("honours Retry-After on 429 and holds the channel until then", async () => {
    const { clock, store, notifier, worker, hits } = setup();
    server.queue({ status: 429, headers: { "retry-after": "120" } });
    const r = await notifier.enqueue(alert);
    await notifier.enqueue({ ...alert, subject: "second" });
    const first = await worker.runOnce();
    expect(first.retried).toBeGreaterThanOrEqual(1);
    const m = await store.get({ id: r.messages[0]!.messageId });
    expect(Date.parse(m!.nextAttemptAt) - clock.now()).toBe(120_000);
    const before = hits().length;
    clock.advance(119_000);
    expect((await worker.runOnce()).claimed).toBe(0); // channel paused, message not due
    expect(hits().length).toBe(before);
    clock.advance(1000);
    await worker.runOnce();
    expect((await store.get({ id: r.messages[0]!.messageId }))!.status).toBe("delivered");
  });

  it("a 4xx is permanent: dead-lettered with the reason at once, then resent by hand", async () => {
    const { store, notifier, worker, hits } = setup();
    server.queue({ status: 410, body: "gone" });
    const r = await notifier.enqueue(alert);
    const id = r.messages[0]!.messageId;
    expect((await worker.runOnce()).dead).toBe(1);
    const dead = await store.get({ id });
    expect(dead).toMatchObject({ status: "dead", attempts: 1 });
    expect(dead!.lastError).toContain("HTTP 410 gone");
    expect((await notifier.deadLetters()).items.map((m) => m.id)).toEqual([id]);
    expect(worker.stats()).toMatchObject({ permanentFailures: 1, temporaryFailures: 0, dead: 1 });
    expect((await worker.runOnce()).claimed).toBe(0);
    const copy = await notifier.resend({ messageId: id, actor: "admin-1" });
    expect(copy.payload["resendOf"]).toBe(id);
    expect((await notifier.resend({ messageId: id })).id).toBe(copy.id); // idempotent
    expect((await notifier.deadLetters()).items).toEqual([]);
    expect((await notifier.deadLetters({ includeResent: true })).items.map((m) => m.id)).toEqual([id]);
    expect((await worker.runOnce()).delivered).toBe(1);
    expect(await notifier.status({ messageId: copy.id })).toMatchObject({ status: "delivered" });
    expect(await notifier.status({ messageId: id })).toMatchObject({ status: "dead", lastError: dead!.lastError });
    expect(hits().length).toBe(2);
    await expect(notifier.resend({ messageId: copy.id })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(notifier.resend({ messageId: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("a pending message cancelled by hand is never sent; resend sends a copy", async () => {
    const { clock, store, notifier, worker, hits } = setup();
    server.queue({ status: 503 });
    const id = (await notifier.enqueue(alert)).messages[0]!.messageId;
    expect((await worker.runOnce()).retried).toBe(1); // in backoff now
    const c = await notifier.cancel({ messageId: id, reason: "incident handled by phone", actor: "admin-1" });
    expect(c).toMatchObject({
      status: "cancelled",
      lastError: "incident handled by phone",
      finishedAt: new Date(clock.now()).toISOString(),
    });
    clock.advance(3_600_000);
    expect((await worker.runOnce()).claimed).toBe(0);
    expect(hits().length).toBe(1);
    await expect(notifier.cancel({ messageId: id })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(notifier.cancel({ messageId: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    const copy = await notifier.resend({ messageId: id });
    expect((await worker.runOnce()).delivered).toBe(1);
    expect(await store.get({ id: copy.id })).toMatchObject({ status: "delivered" });
    expect(await store.get({ id })).toMatchObject({ status: "cancelled" });
  });

  it("an expired message resent by hand is sent, not given up again", async () => {
    const { clock, store, notifier, worker, hits } = setup({ maxAgeMs: 600_000 });
    const id = (await notifier.enqueue(alert)).messages[0]!.messageId;
    clock.advance(3_600_000);
    expect((await worker.runOnce()).expired).toBe(1);
    expect(hits().length).toBe(0);
    clock.advance(86_400_000);
    const copy = await notifier.resend({ messageId: id });
    expect((await worker.runOnce()).delivered).toBe(1);
    expect(await store.get({ id: copy.id })).toMatchObject({ status: "delivered" });
    expect(hits().length).toBe(1);
  });

  it("gives up after maxAttempts temporary failures (dead, counted as temporary)", async () => {
    const { clock, store, notifier, worker } = setup({ maxAttempts: 3 });
    server.queue({ status: 500 }, { status: 500 }, { status: 500 });
    const id = (await notifier.enqueue(alert)).messages[0]!.messageId;
    for (let i = 0; i < 3; i++) {
      await worker.runOnce();
      clock.advance(60_000);
    }
    const m = await store.get({ id });
    expect(m).toMatchObject({ status: "dead", attempts: 3 });
    expect(m!.lastError).toMatch(/^gave up after 3 attempts: .*HTTP 500/);
    expect(worker.stats()).toMatchObject({ temporaryFailures: 3, permanentFailures: 0, dead: 1 });
  });

  it("messages older than maxAgeMs are given up, not sent late", async () => {
    const { clock, store, notifier, worker, hits } = setup({ maxAgeMs: 600_000 });
    server.queue({ status: 503 });
    const id = (await notifier.enqueue(alert)).messages[0]!.messageId;
    await worker.runOnce();
    clock.advance(3_600_000); // an hour-long outage
    const r = await worker.runOnce();
    expect(r.expired).toBe(1);
    expect(hits().length).toBe(1);
    const m = await store.get({ id });
    expect(m).toMatchObject({ status: "expired" });
    expect(m!.lastError).toContain("given up: older than maxAgeMs 600000");
    expect(worker.stats().expired).toBe(1);
  });

  it("a hanging receiver times out and the message is retried", async () => {
    const { clock, store, notifier, worker, hits } = setup({ timeoutMs: 300, leaseMs: 10_000 });
    server.queue("hang");
    const id = (await notifier.enqueue(alert)).messages[0]!.messageId;
    expect((await worker.runOnce()).retried).toBe(1);
    expect((await store.get({ id }))!.lastError).toContain("timed out after 300 ms");
    server.releaseHung(200);
    clock.advance(5000);
    expect((await worker.runOnce()).delivered).toBe(1);
    expect(hits().length).toBe(2);
  });

  it("a worker that dies mid-delivery loses nothing: another delivers after the lease expires", async () => {
    const { clock, store, notifier, worker: crashed, hits, path } = setup({ timeoutMs: 20_000, leaseMs: 30_000 });
    const rescuer = createOutboxWorker({
      store,
      channels: [webhookChannel({ name: "hook", url: `${server.url}${path}` })],
      clock,
      leaseMs: 30_000,
      timeoutMs: 2000,
      logger: { info() {}, warn() {}, error() {} },
    });
    server.queue("hang");
    const id = (await notifier.enqueue(alert)).messages[0]!.messageId;
    // The first worker claims and is stuck inside the send: abandon it as if its process died.
    const abandoned = crashed.runOnce();
    await waitFor(() => hits().length === 1);
    expect(await store.get({ id })).toMatchObject({ leaseOwner: crashed.workerId, status: "pending" });
    clock.advance(29_999);
    expect((await rescuer.runOnce()).claimed).toBe(0); // lease still live: not handed out twice
    clock.advance(1);
    expect((await rescuer.runOnce()).delivered).toBe(1);
    expect(await store.get({ id })).toMatchObject({ status: "delivered", attempts: 2, leaseOwner: null });
    // The dead worker's late answer cannot undo the delivery: its lease is gone.
    server.releaseHung(200);
    const late = await abandoned;
    expect(late.conflicts).toBe(1);
    expect(await store.get({ id })).toMatchObject({ status: "delivered" });
  });

  it("per-channel rate limit: Slack at 1/s sends one per second", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryOutboxStore();
    const path = `/services/rl/${Math.random().toString(36).slice(2)}`;
    const slack = slackChannel({ webhookUrl: `${server.url}${path}` });
    const notifier = createNotifier({ store, channels: [slack], clock, dedupeWindowMs: 0 });
    const worker = createOutboxWorker({
      store,
      channels: [slack],
      clock,
      rateLimits: { slack: { perSecond: 1, burst: 1 } },
      logger: { info() {}, warn() {}, error() {} },
    });
    for (let i = 0; i < 3; i++) await notifier.enqueue({ ...alert, subject: `n${i}` });
    expect((await worker.runOnce()).delivered).toBe(1);
    expect((await worker.runOnce()).claimed).toBe(0);
    clock.advance(1000);
    expect((await worker.runOnce()).delivered).toBe(1);
    clock.advance(1000);
    expect((await worker.runOnce()).delivered).toBe(1);
    expect(server.requests.filter((r) => r.path === path).length).toBe(3);
  });

  it("channels declare their receiver's pace: Slack defaults to bursts of 3 then 1/s", async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryOutboxStore();
    const slack = slackChannel({ webhookUrl: `${server.url}/services/default-rl` });
    const notifier = createNotifier({ store, channels: [slack], clock, dedupeWindowMs: 0 });
    const worker = createOutboxWorker({ store, channels: [slack], clock, logger: { info() {}, warn() {}, error() {} } });
    for (let i = 0; i < 5; i++) await notifier.enqueue({ ...alert, subject: `n${i}` });
    expect((await worker.runOnce()).delivered).toBe(3);
    expect((await worker.runOnce()).delivered).toBe(0);
    clock.advance(1000);
    expect((await worker.runOnce()).delivered).toBe(1);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error("condition not reached");
}
