import { ManualClock, ValidationError } from "@ops/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bearerToken, createHealth, type Health, type HealthCheck, type HealthRequest } from "@ops/health";
import { deferred } from "./helpers.js";

const open: Health[] = [];
afterEach(() => {
  for (const h of open.splice(0)) h.close();
});
function make(...args: Parameters<typeof createHealth>): Health {
  const h = createHealth(...args);
  open.push(h);
  return h;
}
function counting(name: string, result: () => boolean = () => true): HealthCheck & { calls: number } {
  const c = { name, calls: 0, run: () => (c.calls++, { ok: result() }) };
  return c;
}
function request(headers: Record<string, string> = {}, query = ""): HealthRequest {
  return { method: "GET", path: "/health", query: new URLSearchParams(query), header: (n) => headers[n] };
}

describe("createHealth", () => {
  it("caches a report for the TTL and re-runs after it", async () => {
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    const db = counting("db");
    const health = make({ checks: [db], cacheTtlMs: 5_000, clock });
    const first = await health.readiness();
    clock.advance(4_999);
    expect(await health.readiness()).toBe(first);
    expect(db.calls).toBe(1);
    clock.advance(1);
    const second = await health.readiness();
    expect(second).not.toBe(first);
    expect(db.calls).toBe(2);
    expect(health.runCount("readiness")).toBe(2);
  });

  it("shares one in-flight run among concurrent callers", async () => {
    const gate = deferred();
    let calls = 0;
    const slow: HealthCheck = { name: "db", run: async () => (calls++, await gate.promise, { ok: true }) };
    const health = make({ checks: [slow], cacheTtlMs: 0 });
    const callers = Array.from({ length: 20 }, () => health.readiness());
    gate.resolve();
    const reports = await Promise.all(callers);
    expect(calls).toBe(1);
    expect(new Set(reports).size).toBe(1);
    // TTL 0: the next call runs again.
    await health.readiness();
    expect(calls).toBe(2);
  });

  it("refresh() ignores the cache", async () => {
    const db = counting("db");
    const health = make({ checks: [db], cacheTtlMs: 60_000 });
    await health.readiness();
    await health.refresh("readiness");
    expect(db.calls).toBe(2);
  });

  it("polls in the background and serves the polled report", async () => {
    let up = true;
    const db = counting("db", () => up);
    const health = make({ checks: [db], cacheTtlMs: 0 });
    health.startPolling(100);
    await vi.waitFor(() => expect(db.calls).toBeGreaterThanOrEqual(1));
    const callsBefore = db.calls;
    // Reads do not run checks while polling.
    await Promise.all([health.readiness(), health.readiness(), health.readiness()]);
    expect(db.calls).toBeLessThanOrEqual(callsBefore + 1);
    up = false;
    await vi.waitFor(async () => expect((await health.readiness()).status).toBe("fail"), { timeout: 5_000 });
    health.stopPolling();
    const settled = db.calls;
    await new Promise((r) => setTimeout(r, 300));
    expect(db.calls).toBeLessThanOrEqual(settled + 1);
  });

  it("starts polling from pollIntervalMs", async () => {
    const db = counting("db");
    make({ checks: [db], pollIntervalMs: 100 });
    await vi.waitFor(() => expect(db.calls).toBeGreaterThanOrEqual(2), { timeout: 5_000 });
  });

  it("readiness fails at once on shutdown without running checks; liveness is unaffected", async () => {
    const db = counting("db");
    const health = make({ checks: [db], cacheTtlMs: 0, env: "prod" });
    expect((await health.readiness()).status).toBe("pass");
    health.beginShutdown();
    const r = await health.readiness();
    expect(r).toMatchObject({ ok: false, status: "fail", env: "prod", probe: "readiness" });
    expect(r.checks[0]).toMatchObject({ name: "shutdown", message: "shutting down: draining connections" });
    expect(db.calls).toBe(1);
    expect(health.shuttingDown).toBe(true);
    expect((await health.liveness()).status).toBe("pass");
  });

  it("liveness runs the event-loop check by default, never the dependencies", async () => {
    const db = counting("db", () => false);
    const health = make({ checks: [db] });
    const live = await health.liveness();
    expect(live.status).toBe("pass");
    expect(live.checks.map((c) => c.key)).toEqual(["eventloop:delay"]);
    expect(db.calls).toBe(0);
  });

  it("startup passes once its checks have passed, then stays passed", async () => {
    let migrated = false;
    const migrations = counting("migrations", () => migrated);
    const health = make({ startup: [migrations], cacheTtlMs: 0 });
    expect((await health.startup()).status).toBe("fail");
    expect(health.started).toBe(false);
    migrated = true;
    expect((await health.startup()).status).toBe("pass");
    migrated = false;
    expect((await health.startup()).status).toBe("pass");
    expect(migrations.calls).toBe(2);
    expect(health.started).toBe(true);
  });

  it("waitForStarted holds startup and readiness until markStarted()", async () => {
    const health = make({ checks: [counting("db")], waitForStarted: true, cacheTtlMs: 0 });
    expect((await health.startup()).checks[0]!.message).toMatch(/not started yet/);
    expect((await health.readiness()).status).toBe("fail");
    health.markStarted();
    expect((await health.startup()).status).toBe("pass");
    expect((await health.readiness()).status).toBe("pass");
  });

  it("attaches env and probe to reports", async () => {
    const health = make({ env: "staging", checks: [counting("db")] });
    expect(await health.readiness()).toMatchObject({ env: "staging", probe: "readiness", ok: true });
  });

  it("rejects bad options with a ValidationError naming the field", () => {
    expect(() => createHealth({ checks: [counting("db"), counting("db")] })).toThrow(/checks\[1\]\.name.*"db" is repeated/);
    expect(() => createHealth({ cacheTtlMs: -1 })).toThrow(ValidationError);
    expect(() => createHealth({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => createHealth({ env: "Not An Env" })).toThrow(/env/);
    expect(() => createHealth({ checks: [{ name: "x:y", run: () => true }] })).toThrow(/no ':'/);
    const h = make();
    expect(() => h.startPolling(1)).toThrow(/intervalMs/);
    expect(() => h.startPolling(100, ["ready" as never])).toThrow(/startPolling probes: \[0\]/);
  });

  it("check() rejects an unknown probe name", async () => {
    await expect(make().check("toString" as never)).rejects.toThrow(/\[ops\/health\] invalid probe/);
  });

  it("allowsDetails follows the policy; a throwing policy means no", async () => {
    expect(await make().allowsDetails(request())).toBe(false);
    expect(await make({ details: true }).allowsDetails(request())).toBe(true);
    expect(
      await make({
        details: () => {
          throw new Error("x");
        },
      }).allowsDetails(request()),
    ).toBe(false);
    const token = "a-long-enough-health-token";
    const h = make({ details: bearerToken(token) });
    expect(await h.allowsDetails(request({ authorization: `Bearer ${token}` }))).toBe(true);
    expect(await h.allowsDetails(request({ "x-health-token": token }))).toBe(true);
    expect(await h.allowsDetails(request({ authorization: "Bearer wrong" }))).toBe(false);
    expect(await h.allowsDetails(request())).toBe(false);
    expect(() => bearerToken("short")).toThrow(/token: expected a string of at least 16 characters/);
  });

  it("restarting polling keeps a single polling loop", async () => {
    const db = counting("db");
    const health = make({ checks: [db], cacheTtlMs: 0 });
    health.startPolling(100);
    health.startPolling(100);
    health.stopPolling();
    health.startPolling(100);
    await vi.waitFor(() => expect(db.calls).toBeGreaterThanOrEqual(4), { timeout: 5_000 });
    health.stopPolling();
    await new Promise((r) => setTimeout(r, 250));
    const after = db.calls;
    await new Promise((r) => setTimeout(r, 250));
    expect(db.calls).toBe(after);
  });

  it("accepts the seed's check functions, named by what they return", async () => {
    let up = true;
    const checks = [
      async () => ({ name: "database", ok: up }),
      async () => ({ name: "stripe", ok: await new Promise<boolean>(() => undefined) }),
    ];
    const health = make({ checks, cacheTtlMs: 0, timeoutMs: 50 });
    let report = await health.readiness();
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ["database", "pass"],
      ["stripe", "fail"],
    ]);
    expect(report.checks[1]!.timedOut).toBe(true);
    up = false;
    report = await health.readiness();
    expect(report.checks[0]).toMatchObject({ name: "database", status: "fail" });
    expect(() => createHealth({ checks: [async () => ({ name: "db", ok: true }), counting("db")] })).toThrow(/"db" is repeated/);
  });
});
