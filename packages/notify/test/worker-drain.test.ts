import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, createOutboxWorker, webhookChannel, type NotifyLogger } from "../src/index.js";
import { RecordingServer } from "./helpers/http-server.js";

const silent: NotifyLogger = { info: () => {}, warn: () => {}, error: () => {} };
let server: RecordingServer;
beforeAll(async () => {
  server = await new RecordingServer().start();
});
afterAll(() => server.close());

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("outbox worker drains a backlog", () => {
  it("claims again at once after a full batch: 600 messages are delivered without waiting a single poll interval", async () => {
    const store = new MemoryOutboxStore();
    const path = `/drain/${Math.random().toString(36).slice(2)}`;
    const channels = [webhookChannel({ name: "hook", url: `${server.url}${path}` })];
    const notifier = createNotifier({ store, channels, dedupeWindowMs: 0 });
    for (let i = 0; i < 600; i++) await notifier.enqueue({ id: `n-${i}`, subject: `alert ${i}`, body: "b", severity: "high" });
    // A poll interval longer than the test's timeout: only rounds that follow a full claim at once
    // can deliver more than the first batch.
    const worker = createOutboxWorker({ store, channels, logger: silent, pollMs: 600_000 });
    worker.start();
    try {
      await until(() => worker.stats().delivered >= 600, 20_000);
    } finally {
      await worker.stop();
    }
    const keys = server.requests.filter((r) => r.path === path).map((r) => String(r.headers["x-ops-idempotency-key"]));
    expect(new Set(keys).size).toBe(600);
    expect(keys.length).toBe(600); // no duplicates either
  });

  it("waits pollMs when idle: an empty outbox is claimed once per interval, not in a busy loop", async () => {
    const store = new MemoryOutboxStore();
    let claims = 0;
    const claim = store.claim.bind(store);
    store.claim = (q) => {
      claims++;
      return claim(q);
    };
    const worker = createOutboxWorker({
      store,
      channels: [webhookChannel({ name: "hook", url: `${server.url}/idle` })],
      logger: silent,
      pollMs: 200,
    });
    worker.start();
    await new Promise((r) => setTimeout(r, 500));
    await worker.stop();
    expect(claims).toBeGreaterThanOrEqual(2);
    expect(claims).toBeLessThanOrEqual(4);
  });
});
