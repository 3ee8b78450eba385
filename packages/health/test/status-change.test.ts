import type { AdminNotification, Notifier } from "@ops/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createHealth, notifyOnFailure, type Health, type StatusChange } from "@ops/health";

const open: Health[] = [];
afterEach(() => {
  for (const h of open.splice(0)) h.close();
});

describe("status changes", () => {
  it("calls onStatusChange on the first run and on every change, not on repeats", async () => {
    const changes: StatusChange[] = [];
    const state = { db: true, cache: true };
    const health = createHealth({
      checks: [
        { name: "db", run: () => state.db },
        { name: "cache", critical: false, run: () => state.cache },
      ],
      cacheTtlMs: 0,
      onStatusChange: (c) => void changes.push(c),
    });
    open.push(health);
    await health.readiness();
    await health.readiness();
    state.cache = false;
    await health.readiness();
    state.db = false;
    await health.readiness();
    await health.readiness();
    state.db = state.cache = true;
    await health.readiness();
    expect(changes.map((c) => [c.probe, c.previous, c.report.status])).toEqual([
      ["readiness", undefined, "pass"],
      ["readiness", "pass", "warn"],
      ["readiness", "warn", "fail"],
      ["readiness", "fail", "pass"],
    ]);
  });

  it("a throwing listener never breaks the checks, and is reported", async () => {
    const lines: string[] = [];
    const health = createHealth({
      checks: [{ name: "db", run: () => true }],
      onStatusChange: () => {
        throw new Error("listener broke with token=abc123secret");
      },
      log: (l) => lines.push(l),
    });
    open.push(health);
    expect((await health.readiness()).status).toBe("pass");
    const asyncHealth = createHealth({
      checks: [{ name: "db", run: () => true }],
      onStatusChange: async () => Promise.reject(new Error("async listener broke")),
      log: (l) => lines.push(l),
    });
    open.push(asyncHealth);
    expect((await asyncHealth.readiness()).status).toBe("pass");
    await vi.waitFor(() => expect(lines).toHaveLength(2));
    expect(lines[0]).toBe("[ops/health] status listener failed: listener broke with token=[redacted]");
    expect(lines[1]).toBe("[ops/health] status listener failed: async listener broke");
  });

  it("notifyOnFailure triggers on failure and resolves on recovery, through the Notifier port", async () => {
    const sent: AdminNotification[] = [];
    const notifier: Notifier = { notify: async (n) => void sent.push(n) };
    let up = true;
    const health = createHealth({
      checks: [{ name: "db", run: () => ({ ok: up, message: "connect ECONNREFUSED postgres://u:pw-z@db/x" }) }],
      cacheTtlMs: 0,
      onStatusChange: notifyOnFailure(notifier, { serviceId: "api" }),
    });
    open.push(health);
    await health.readiness();
    up = false;
    await health.readiness();
    await health.readiness();
    up = true;
    await health.readiness();
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[0]).toMatchObject({
      subject: "[api] readiness failing: db",
      body: "db: connect ECONNREFUSED [redacted]",
      severity: "high",
      type: "HEALTH_FAIL",
      dedupeKey: "health:api:readiness",
      action: "trigger",
    });
    expect(sent[1]).toMatchObject({ type: "HEALTH_RECOVERED", dedupeKey: "health:api:readiness", action: "resolve", severity: "info" });
    expect(JSON.stringify(sent)).not.toContain("pw-z");
  });

  it("stops polling and stays silent once shutting down", async () => {
    const changes: StatusChange[] = [];
    let calls = 0;
    let up = true;
    const health = createHealth({
      checks: [{ name: "db", run: () => (calls++, up) }],
      cacheTtlMs: 0,
      onStatusChange: (c) => void changes.push(c),
    });
    open.push(health);
    health.startPolling(100);
    await vi.waitFor(() => expect(changes).toHaveLength(1));
    health.beginShutdown();
    up = false; // the pool is being closed
    const after = calls;
    await health.refresh("readiness");
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(after);
    expect(changes).toHaveLength(1);
  });
});
