import { describe, expect, it } from "vitest";
import { ManualClock, UnsupportedError, ValidationError } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, createOutboxWorker, quietUntil, type NotificationChannel, type AdminNotification } from "../src/index.js";

/** An in-process channel that records what it was asked to send (the transport is not under test here). */
function recorder(name: string): NotificationChannel & { sent: AdminNotification[] } {
  const sent: AdminNotification[] = [];
  return { name, sent, send: async (n) => void sent.push(n) };
}

const silent = { info() {}, warn() {}, error() {} };

function rig(opts: Partial<Parameters<typeof createNotifier>[0]> = {}, start = "2030-01-01T12:00:00.000Z") {
  const clock = new ManualClock(start);
  const store = new MemoryOutboxStore();
  const slack = recorder("slack");
  const email = recorder("email");
  const pd = recorder("pagerduty");
  const channels = [slack, email, pd];
  const notifier = createNotifier({ store, channels, clock, ...opts });
  const worker = createOutboxWorker({ store, channels, clock, logger: silent, random: () => 0 });
  return { clock, store, notifier, worker, slack, email, pd };
}

describe("validation", () => {
  it("a bad notification throws a ValidationError naming the field and enqueues nothing", async () => {
    const { notifier, store } = rig();
    const bad = { subject: "", body: "x", severity: "urgent" } as unknown as AdminNotification;
    const err = await notifier.enqueue(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/^\[ops\/notify\] invalid notification: .*subject.*severity/);
    const noKey = await notifier.enqueue({ subject: "s", body: "b", severity: "low", action: "resolve" }).catch((e: unknown) => e);
    expect((noKey as Error).message).toContain("dedupeKey: required when action is resolve");
    expect((await store.list({})).items).toEqual([]);
  });

  it("bad options are refused at construction", () => {
    const store = new MemoryOutboxStore();
    const ch = [recorder("slack")];
    expect(() => createNotifier({ store, channels: ch, routes: [{ channels: ["sms"] }] })).toThrow(
      /routes\[0\]\.channels: unknown channel "sms"/,
    );
    expect(() => createNotifier({ store, channels: ch, quietHours: { start: "25:00", end: "07:00" } })).toThrow(/quietHours\.start/);
    expect(() => createNotifier({ store, channels: ch, escalation: { afterMinutes: 5, channels: ["pager"] } })).toThrow(ValidationError);
  });
});

describe("routing", () => {
  it("routes by severity, type and tenant; first match wins unless continue; default otherwise", async () => {
    const { notifier } = rig({
      defaultChannels: ["email"],
      routes: [
        { tenants: ["vip"], channels: ["slack"], continue: true },
        { minSeverity: "high", channels: ["pagerduty", "slack"] },
        { types: ["HEALTH_FAIL"], channels: ["slack"] },
      ],
    });
    const chans = async (n: Partial<AdminNotification>) =>
      (await notifier.enqueue({ subject: "s", body: "b", severity: "low", ...n })).messages.map((m) => m.channel).sort();
    expect(await chans({ severity: "critical" })).toEqual(["pagerduty", "slack"]);
    expect(await chans({ severity: "high" })).toEqual(["pagerduty", "slack"]);
    expect(await chans({ severity: "medium", type: "HEALTH_FAIL" })).toEqual(["slack"]);
    expect(await chans({ severity: "medium" })).toEqual(["email"]);
    expect(await chans({ severity: "low", tenantId: "vip" })).toEqual(["slack"]);
    expect(await chans({ severity: "critical", tenantId: "vip" })).toEqual(["pagerduty", "slack"]);
  });
});

describe("dedupe and idempotency", () => {
  it("the same id is enqueued once per channel", async () => {
    const { notifier, worker, slack } = rig({ defaultChannels: ["slack"] });
    const a = await notifier.enqueue({ id: "n-1", subject: "s", body: "b", severity: "low" });
    const b = await notifier.enqueue({ id: "n-1", subject: "s", body: "b", severity: "low" });
    expect(b.messages[0]).toMatchObject({ messageId: a.messages[0]!.messageId, duplicate: true });
    await worker.runOnce();
    expect(slack.sent.length).toBe(1);
  });

  it("a dedupe key repeats once per sliding window, also across the window's bucket edge", async () => {
    const { notifier, clock, worker, slack } = rig({ defaultChannels: ["slack"], dedupeWindowMs: 60_000 }, "2030-01-01T12:00:50.000Z");
    const n = { subject: "spike", body: "b", severity: "medium" as const, dedupeKey: "inc-1" };
    expect((await notifier.enqueue(n)).messages[0]!.duplicate).toBe(false);
    clock.advance(20_000); // next fixed bucket, still inside the 60 s window
    expect((await notifier.enqueue(n)).messages[0]!.duplicate).toBe(true);
    clock.advance(20_000);
    expect((await notifier.enqueue(n)).messages[0]!.duplicate).toBe(true);
    // Another action on the same key is not a duplicate: a resolve must go out.
    expect((await notifier.enqueue({ ...n, action: "resolve" })).messages[0]!.duplicate).toBe(false);
    clock.advance(60_000);
    expect((await notifier.enqueue(n)).messages[0]!.duplicate).toBe(false);
    await worker.runOnce();
    expect(slack.sent.map((s) => s.action)).toEqual(["trigger", "resolve", "trigger"]);
  });

  it("the same dedupe key in two tenants is two notifications", async () => {
    const { notifier } = rig({ defaultChannels: ["slack"] });
    const n = { subject: "s", body: "b", severity: "low" as const, dedupeKey: "k" };
    expect((await notifier.enqueue({ ...n, tenantId: "a" })).messages[0]!.duplicate).toBe(false);
    expect((await notifier.enqueue({ ...n, tenantId: "b" })).messages[0]!.duplicate).toBe(false);
  });
});

describe("quiet hours", () => {
  const quietHours = { start: "22:00", end: "07:00", timeZone: "Europe/Berlin" };

  it("computes the end of quiet hours in the time zone, across midnight", () => {
    // 23:30 in Berlin (UTC+1 in January) = 22:30Z; quiet until 07:00 Berlin = 06:00Z next day.
    expect(quietUntil(quietHours, Date.parse("2030-01-01T22:30:00.000Z"))).toBe(Date.parse("2030-01-02T06:00:00.000Z"));
    expect(quietUntil(quietHours, Date.parse("2030-01-02T05:59:00.000Z"))).toBe(Date.parse("2030-01-02T06:00:00.000Z"));
    expect(quietUntil(quietHours, Date.parse("2030-01-02T06:00:00.000Z"))).toBeNull();
    expect(quietUntil(quietHours, Date.parse("2030-01-01T12:00:00.000Z"))).toBeNull();
    // Days: quiet only on nights starting Saturday (6).
    expect(quietUntil({ ...quietHours, days: [6] }, Date.parse("2030-01-01T22:30:00.000Z"))).toBeNull(); // a Tuesday
  });

  it("defers non-critical notifications to the end of quiet hours; critical bypasses", async () => {
    const { notifier, clock, worker, slack } = rig(
      { defaultChannels: ["slack"], quietHours, dedupeWindowMs: 0 },
      "2030-01-01T22:30:00.000Z",
    );
    const low = await notifier.enqueue({ subject: "disk 80%", body: "b", severity: "medium" });
    expect(low.deferredUntil).toBe("2030-01-02T06:00:00.000Z");
    await notifier.enqueue({ subject: "site down", body: "b", severity: "critical" });
    await worker.runOnce();
    expect(slack.sent.map((s) => s.subject)).toEqual(["site down"]);
    clock.set("2030-01-02T06:00:00.000Z");
    await worker.runOnce();
    expect(slack.sent.map((s) => s.subject)).toEqual(["site down", "disk 80%"]);
  });

  it("a deferred message is not judged stale by the hours it waited", async () => {
    const clock = new ManualClock("2030-01-01T22:30:00.000Z");
    const store = new MemoryOutboxStore();
    const slack = recorder("slack");
    const notifier = createNotifier({ store, channels: [slack], clock, quietHours });
    const worker = createOutboxWorker({ store, channels: [slack], clock, maxAgeMs: 3_600_000, logger: silent });
    await notifier.enqueue({ subject: "later", body: "b", severity: "low" });
    clock.set("2030-01-02T06:10:00.000Z");
    expect((await worker.runOnce()).delivered).toBe(1);
  });

  it("action drop discards non-critical notifications during quiet hours", async () => {
    const { notifier, store } = rig(
      { defaultChannels: ["slack"], quietHours: { ...quietHours, action: "drop" } },
      "2030-01-01T22:30:00.000Z",
    );
    const r = await notifier.enqueue({ subject: "meh", body: "b", severity: "low" });
    expect(r).toMatchObject({ messages: [], dropped: "quiet hours" });
    expect((await store.list({})).items).toEqual([]);
  });
});

describe("escalation", () => {
  function escRig(acked: Set<string>) {
    const clock = new ManualClock("2030-01-01T12:00:00.000Z");
    const store = new MemoryOutboxStore();
    const slack = recorder("slack");
    const pd = recorder("pagerduty");
    const notifier = createNotifier({
      store,
      channels: [slack, pd],
      clock,
      defaultChannels: ["slack"],
      escalation: { afterMinutes: 15, channels: ["pagerduty"] },
    });
    const worker = createOutboxWorker({
      store,
      channels: [slack, pd],
      clock,
      logger: silent,
      isAcknowledged: async ({ dedupeKey }) => dedupeKey !== undefined && acked.has(dedupeKey),
    });
    return { clock, store, notifier, worker, slack, pd };
  }

  it("escalates when not acknowledged within N minutes", async () => {
    const { clock, notifier, worker, slack, pd } = escRig(new Set());
    await notifier.enqueue({ subject: "breach?", body: "b", severity: "high", dedupeKey: "inc-9" });
    await worker.runOnce();
    expect(slack.sent.length).toBe(1);
    clock.advance(14 * 60_000);
    await worker.runOnce();
    expect(pd.sent).toEqual([]);
    clock.advance(60_000);
    await worker.runOnce();
    expect(pd.sent.map((n) => n.subject)).toEqual(["[ESCALATED] breach?"]);
  });

  it("an acknowledged incident does not escalate (the escalation is cancelled)", async () => {
    const acked = new Set<string>();
    const { clock, notifier, worker, pd, store } = escRig(acked);
    const r = await notifier.enqueue({ subject: "breach?", body: "b", severity: "critical", dedupeKey: "inc-10" });
    acked.add("inc-10");
    clock.advance(15 * 60_000);
    expect((await worker.runOnce()).cancelled).toBe(1);
    expect(pd.sent).toEqual([]);
    const esc = r.messages.find((m) => m.escalation)!;
    expect(await store.get({ id: esc.messageId })).toMatchObject({ status: "cancelled", lastError: "escalation not needed: acknowledged" });
  });

  it("when the acknowledgement cannot be checked, the escalation is retried, not sent or dropped", async () => {
    const clock = new ManualClock("2030-01-01T12:00:00.000Z");
    const store = new MemoryOutboxStore();
    const pd = recorder("pagerduty");
    const notifier = createNotifier({
      store,
      channels: [pd],
      clock,
      defaultChannels: [],
      escalation: { afterMinutes: 5, channels: ["pagerduty"] },
    });
    const worker = createOutboxWorker({
      store,
      channels: [pd],
      clock,
      logger: silent,
      isAcknowledged: async () => {
        throw new Error("incident store down");
      },
    });
    const r = await notifier.enqueue({ subject: "x", body: "b", severity: "critical", dedupeKey: "inc-12" });
    clock.advance(5 * 60_000);
    expect((await worker.runOnce()).retried).toBe(1);
    expect(pd.sent).toEqual([]);
    const m = await store.get({ id: r.messages[0]!.messageId });
    expect(m).toMatchObject({ status: "pending" });
    expect(m!.lastError).toContain("isAcknowledged failed: incident store down");
  });

  it("a deduped repeat does not start a second escalation timer; a later trigger does", async () => {
    const { clock, notifier, worker, pd } = escRig(new Set());
    const n = { subject: "breach?", body: "b", severity: "high" as const, dedupeKey: "inc-13" };
    await notifier.enqueue(n);
    clock.advance(60_000);
    const repeat = await notifier.enqueue(n);
    expect(repeat.messages.filter((m) => m.escalation)).toEqual([]);
    clock.advance(15 * 60_000);
    await worker.runOnce();
    expect(pd.sent.length).toBe(1);
    clock.advance(60 * 60_000);
    const later = await notifier.enqueue(n);
    expect(later.messages.filter((m) => m.escalation).length).toBe(1);
  });

  it("the escalation timer starts after quiet hours when the first send was held", async () => {
    const store = new MemoryOutboxStore();
    const slack = recorder("slack");
    const pd = recorder("pagerduty");
    const notifier = createNotifier({
      store,
      channels: [slack, pd],
      clock: new ManualClock("2030-01-01T23:00:00.000Z"),
      defaultChannels: ["slack"],
      quietHours: { start: "22:00", end: "07:00", channels: ["slack"] },
      escalation: { afterMinutes: 15, channels: ["pagerduty"] },
    });
    const r = await notifier.enqueue({ subject: "x", body: "b", severity: "high", dedupeKey: "inc-14" });
    expect(r.deferredUntil).toBe("2030-01-02T07:00:00.000Z");
    const esc = await store.get({ id: r.messages.find((m) => m.escalation)!.messageId });
    expect(esc!.nextAttemptAt).toBe("2030-01-02T07:15:00.000Z");
  });

  it("low severities do not escalate", async () => {
    const { notifier } = escRig(new Set());
    const r = await notifier.enqueue({ subject: "fyi", body: "b", severity: "low", dedupeKey: "inc-11" });
    expect(r.messages.filter((m) => m.escalation)).toEqual([]);
  });
});

describe("worker timeouts", () => {
  it("a provider that ignores its abort signal is timed out by the worker and retried", async () => {
    const clock = new ManualClock("2030-01-01T12:00:00.000Z");
    const store = new MemoryOutboxStore();
    let calls = 0;
    const stuck = { name: "stuck", send: () => (++calls === 1 ? new Promise<void>(() => {}) : Promise.resolve()) };
    const notifier = createNotifier({ store, channels: [stuck], clock });
    const worker = createOutboxWorker({ store, channels: [stuck], clock, logger: silent, timeoutMs: 50, leaseMs: 10_000 });
    const id = (await notifier.enqueue({ subject: "s", body: "b", severity: "low" })).messages[0]!.messageId;
    expect((await worker.runOnce()).retried).toBe(1);
    expect((await store.get({ id }))!.lastError).toBe("[ops/notify] stuck: timed out after 50 ms");
    clock.advance(60_000);
    expect((await worker.runOnce()).delivered).toBe(1);
  });
});

describe("the Notifier port", () => {
  it("refuses a transaction handle when the store cannot join transactions", async () => {
    const { notifier, store } = rig();
    await expect(notifier.enqueue({ subject: "s", body: "b", severity: "info" }, { tx: {} })).rejects.toBeInstanceOf(UnsupportedError);
    expect((await store.list({})).items).toEqual([]);
  });

  it("passes the caller's transaction handle to a store that can join it", async () => {
    const inner = new MemoryOutboxStore();
    const seen: unknown[] = [];
    // A store declaring transactions; it records the handle it was given (the SQL adapters' own
    // suites prove the commit/rollback behaviour against PostgreSQL).
    const store = Object.assign(Object.create(inner) as MemoryOutboxStore, {
      capabilities: { ...inner.capabilities, transactions: true },
      enqueue: (input: Parameters<MemoryOutboxStore["enqueue"]>[0]) => {
        seen.push(input.tx);
        return inner.enqueue({ message: input.message });
      },
    });
    const notifier = createNotifier({ store, channels: [recorder("slack"), recorder("email")] });
    const tx = { name: "the caller's transaction" };
    await notifier.enqueue({ subject: "s", body: "b", severity: "info" }, { tx });
    expect(seen).toEqual([tx, tx]);
  });

  it("start() polls and delivers until stop()", async () => {
    const store = new MemoryOutboxStore();
    const slack = recorder("slack");
    const notifier = createNotifier({ store, channels: [slack] });
    const worker = createOutboxWorker({ store, channels: [slack], pollMs: 5, logger: silent });
    worker.start();
    await notifier.notify({ subject: "s", body: "b", severity: "info" });
    for (let i = 0; i < 400 && slack.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await worker.stop();
    expect(slack.sent.map((n) => n.subject)).toEqual(["s"]);
    expect((await store.list({ status: "delivered" })).items.length).toBe(1);
  });

  it("notify() resolves with nothing once enqueued", async () => {
    const { notifier, store } = rig({ defaultChannels: ["email"] });
    await expect(notifier.notify({ subject: "s", body: "b", severity: "info" })).resolves.toBeUndefined();
    expect((await store.list({ status: "pending" })).items.map((m) => m.channel)).toEqual(["email"]);
  });
});
