import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireService, testPgUrl } from "@ops/testkit";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createHealth, gracefulShutdown, type ClosableServer } from "@ops/health";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const fixture = join(here, "fixtures", "shutdown-app.ts");
const pgUp = await requireService("postgres");

interface App {
  child: ChildProcess;
  base: string;
  out: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

async function startApp(env: Record<string, string>): Promise<App> {
  // One process (no npx/tsx wrapper) so the signal reaches the app itself.
  const child = spawn(process.execPath, ["--conditions=@ops/source", "--import", "tsx", fixture], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  await vi.waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`fixture exited: ${err}`);
      expect(out).toMatch(/LISTENING \d+/);
    },
    { timeout: 20_000, interval: 50 },
  );
  const port = /LISTENING (\d+)/.exec(out)![1];
  return { child, base: `http://127.0.0.1:${port}`, out: () => out, exited };
}

describe("graceful shutdown in a real child process", () => {
  it("on SIGTERM: readiness 503 at once, keeps serving through the drain, closes servers then stores, exits 0", async () => {
    // No DRAIN_MS: the default 5 s drain.
    const app = await startApp({ HARD_MS: "20000", ...(pgUp ? { PG_URL: testPgUrl() } : {}) });
    expect((await fetch(`${app.base}/readyz`)).status).toBe(200);

    app.child.kill("SIGTERM");
    await vi.waitFor(async () => expect((await fetch(`${app.base}/readyz`)).status).toBe(503), { timeout: 3_000, interval: 20 });
    // Draining: the app still serves traffic and liveness still passes.
    const work = await fetch(`${app.base}/work`);
    expect(work.status).toBe(200);
    expect(await work.text()).toBe("work done");
    expect((await fetch(`${app.base}/livez`)).status).toBe(200);
    expect(app.out()).not.toContain("store closed");

    const { code } = await app.exited;
    expect(code).toBe(0);
    const lines = app.out().split("\n");
    const at = (s: string) => lines.findIndex((l) => l.includes(s));
    expect(lines[at("received SIGTERM")]).toContain("draining for 5000 ms");
    expect(at("store closed")).toBeGreaterThan(at("received SIGTERM"));
    expect(at("shutdown complete (exit 0)")).toBeGreaterThan(at("store closed"));
    if (pgUp) expect(app.out()).toContain("pg pool ended: true");
    expect(app.out()).not.toContain("exceeded");
  });

  it("an idle keep-alive connection does not hold the exit", async () => {
    const app = await startApp({ DRAIN_MS: "300", HARD_MS: "15000" });
    const agent = new Agent({ keepAlive: true });
    const status = await new Promise<number>((resolve, reject) => {
      request(`${app.base}/work`, { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      })
        .on("error", reject)
        .end();
    });
    expect(status).toBe(200);
    app.child.kill("SIGTERM");
    const { code } = await app.exited;
    agent.destroy();
    expect(code).toBe(0);
    expect(app.out()).not.toContain("exceeded");
  });

  it("exits with code 1 at the hard timeout when a closer hangs", async () => {
    const app = await startApp({ DRAIN_MS: "100", HARD_MS: "1500", HANG_CLOSER: "1" });
    app.child.kill("SIGTERM");
    const { code } = await app.exited;
    expect(code).toBe(1);
    expect(app.out()).toContain("store closed");
    expect(app.out()).toContain("shutdown exceeded 1500 ms: exiting now");
  });

  it("a second SIGTERM exits at once", async () => {
    const app = await startApp({ DRAIN_MS: "60000", HARD_MS: "120000" });
    app.child.kill("SIGTERM");
    await vi.waitFor(async () => expect((await fetch(`${app.base}/readyz`)).status).toBe(503), { timeout: 5_000, interval: 20 });
    // Past the 1 s window in which a repeat counts as the same request delivered twice.
    await new Promise((r) => setTimeout(r, 1_200));
    app.child.kill("SIGTERM");
    const { code } = await app.exited;
    expect(code).toBe(1);
    expect(app.out()).toContain("second SIGTERM while shutting down: exiting now");
  });

  it("one SIGTERM delivered twice (process group + a relaying wrapper) still drains and exits 0", async () => {
    // A wide window so a loaded machine cannot stretch the two deliveries apart; the second signal
    // is sent once the first has been handled (two pending signals would coalesce into one).
    const app = await startApp({ DRAIN_MS: "1500", HARD_MS: "15000", REPEAT_MS: "10000" });
    app.child.kill("SIGTERM");
    await vi.waitFor(async () => expect((await fetch(`${app.base}/readyz`)).status).toBe(503), { timeout: 5_000, interval: 20 });
    app.child.kill("SIGTERM");
    const { code } = await app.exited;
    expect(code).toBe(0);
    expect(app.out()).toContain("SIGTERM repeated within 10000 ms (one request delivered twice): still draining");
    expect(app.out()).not.toContain("exiting now");
    expect(app.out()).toContain("shutdown complete (exit 0)");
  });
});

describe("gracefulShutdown (in process, signals off)", () => {
  function fakeServer(log: string[], fail = false): ClosableServer {
    return {
      close: (cb) => {
        log.push("server closed");
        cb?.(fail ? new Error("close failed for postgres://u:pw-x@h/db") : undefined);
      },
    };
  }

  it("flips readiness, then closes servers, then closers in order; exit code 0", async () => {
    const log: string[] = [];
    const health = createHealth({ cacheTtlMs: 0 });
    const exits: number[] = [];
    const sd = gracefulShutdown(health, {
      signals: [],
      drainDelayMs: 0,
      servers: [fakeServer(log)],
      exit: (c) => exits.push(c),
      log: () => undefined,
    });
    sd.register(() => void log.push("first"));
    sd.register({ name: "second", close: async () => void log.push("second") });
    const done = sd.shutdown("test");
    expect(health.shuttingDown).toBe(true);
    expect((await health.readiness()).status).toBe("fail");
    expect(await done).toBe(0);
    expect(log).toEqual(["server closed", "first", "second"]);
    expect(exits).toEqual([0]);
    // Idempotent: a second call shares the first run.
    expect(await sd.shutdown()).toBe(0);
    expect(exits).toEqual([0]);
  });

  it("keeps closing after a failure, logs it scrubbed, and exits 1", async () => {
    const lines: string[] = [];
    const closed: string[] = [];
    const health = createHealth();
    const sd = gracefulShutdown(health, {
      signals: [],
      drainDelayMs: 0,
      servers: [fakeServer(closed, true)],
      closers: [{ name: "pool", close: () => Promise.reject(new Error("end failed: password=pw-y")) }, () => void closed.push("after")],
      exit: () => undefined,
      log: (l) => lines.push(l),
    });
    expect(await sd.shutdown()).toBe(1);
    expect(closed).toEqual(["server closed", "after"]);
    const text = lines.join("\n");
    expect(text).toContain("closing pool failed");
    expect(text).not.toContain("pw-x");
    expect(text).not.toContain("pw-y");
  });

  it("validates its options", () => {
    const health = createHealth();
    expect(() => gracefulShutdown(health, { drainDelayMs: -1, signals: [] })).toThrow(
      /\[ops\/health\] invalid gracefulShutdown options: drainDelayMs/,
    );
    expect(() => gracefulShutdown(health, { servers: [{} as ClosableServer], signals: [] })).toThrow(/servers\[0\]/);
    expect(() => gracefulShutdown(health, { drainDelayMs: 30_000, signals: [] })).toThrow(
      /drainDelayMs: expected drainDelayMs < hardTimeoutMs/,
    );
    const sd = gracefulShutdown(health, { signals: [] });
    expect(() => sd.register(42 as never)).toThrow(/\[ops\/health\] invalid register closer/);
    expect(() => sd.addServer({} as never)).toThrow(/\[ops\/health\] invalid addServer server/);
    health.close();
  });
});
