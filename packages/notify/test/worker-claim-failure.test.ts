import { describe, expect, it } from "vitest";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { UnavailableError } from "@ops/core";
import { createNotifier, createOutboxWorker, type AdminNotification, type NotificationChannel, type NotifyLogger } from "../src/index.js";

const silent: NotifyLogger = { info: () => {}, warn: () => {}, error: () => {} };

function recording(name: string): NotificationChannel & { sent: AdminNotification[] } {
  const sent: AdminNotification[] = [];
  return { name, sent, send: async (n: AdminNotification) => void sent.push(n) };
}

/** A store whose claim fails for one channel (a corrupt queue, a lost shard) and works for the others. */
function storeFailingFor(channel: string): MemoryOutboxStore {
  const store = new MemoryOutboxStore();
  const claim = store.claim.bind(store);
  store.claim = (q) => (q.channels?.includes(channel) ? Promise.reject(new UnavailableError(`claim of ${channel} failed`)) : claim(q));
  return store;
}

describe("outbox worker: one channel's failing claim", () => {
  it("does not starve the other channels, and the round still reports the failure", async () => {
    const broken = recording("broken");
    const hook = recording("hook");
    const store = storeFailingFor("broken");
    const notifier = createNotifier({ store, channels: [broken, hook], defaultChannels: ["broken", "hook"], dedupeWindowMs: 0 });
    await notifier.enqueue({ id: "n-1", subject: "alert", body: "b", severity: "high" });
    const worker = createOutboxWorker({ store, channels: [broken, hook], logger: silent, pollMs: 50 });
    await expect(worker.runOnce()).rejects.toThrow(/claim of broken failed/);
    expect(hook.sent.map((n) => n.subject)).toEqual(["alert"]);
    expect(worker.stats().delivered).toBe(1);
  });

  it("under start(): the healthy channel is delivered while the broken one keeps failing", async () => {
    const broken = recording("broken");
    const hook = recording("hook");
    const store = storeFailingFor("broken");
    const notifier = createNotifier({ store, channels: [broken, hook], defaultChannels: ["broken", "hook"], dedupeWindowMs: 0 });
    for (let i = 0; i < 3; i++) await notifier.enqueue({ id: `n-${i}`, subject: `alert ${i}`, body: "b", severity: "high" });
    const errors: string[] = [];
    const worker = createOutboxWorker({
      store,
      channels: [broken, hook],
      logger: { ...silent, error: (e) => void errors.push(e) },
      pollMs: 20,
    });
    worker.start();
    const end = Date.now() + 3000;
    while (hook.sent.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await worker.stop();
    expect(hook.sent.length).toBe(3);
    expect(errors).toContain("notify.worker.round_failed");
  });
});
