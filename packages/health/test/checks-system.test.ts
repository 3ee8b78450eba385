import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diskCheck, eventLoopCheck, heapCheck, httpCheck, runHealthChecks } from "@ops/health";
import { closedPort, closeServer, listen } from "./helpers.js";

describe("httpCheck (real server on 127.0.0.1)", () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers["x-api-key"] ?? ""}${req.headers.authorization ?? ""}`);
    if (req.url?.startsWith("/ok")) return res.writeHead(200).end("fine");
    if (req.url?.startsWith("/down")) return res.writeHead(503).end("down");
    if (req.url === "/teapot") return res.writeHead(418).end();
    // /hang: never answers.
  });
  let base = "";
  beforeAll(async () => {
    base = await listen(server);
  });
  afterAll(() => closeServer(server));

  it("passes on 2xx with latency and status code, sending headers", async () => {
    const report = await runHealthChecks("test", [httpCheck({ url: `${base}/ok`, name: "payments", headers: { "x-api-key": "k1" } })]);
    expect(report.checks[0]).toMatchObject({
      name: "payments",
      key: "payments:responseTime",
      status: "pass",
      observedUnit: "ms",
      details: { statusCode: 200, url: `${base}/ok` },
    });
    expect(seen).toContain("GET /ok k1");
    expect(report.checks[0]!.message).toMatch(/^HTTP 200 in [\d.]+ ms$/);
  });

  it("fails on 5xx, naming the status but not the query or credentials", async () => {
    const url = `${base.replace("http://", "http://user:http-secret@")}/down?token=query-secret`;
    const report = await runHealthChecks("test", [httpCheck({ url })]);
    expect(report.checks[0]).toMatchObject({ name: "127.0.0.1", status: "fail", message: `HTTP 503 from ${base}/down` });
    const json = JSON.stringify(report);
    expect(json).not.toContain("http-secret");
    expect(json).not.toContain("query-secret");
    // The credentials still reach the dependency, as Basic auth.
    expect(seen).toContain(`GET /down?token=query-secret Basic ${Buffer.from("user:http-secret").toString("base64")}`);
  });

  it("accepts the listed statuses only, when given", async () => {
    const report = await runHealthChecks("test", [
      httpCheck({ url: `${base}/teapot`, name: "a", expectedStatus: [418] }),
      httpCheck({ url: `${base}/ok`, name: "b", expectedStatus: [204] }),
    ]);
    expect(report.checks.map((c) => c.status)).toEqual(["pass", "fail"]);
  });

  it("aborts a request that never answers at the timeout", async () => {
    const before = seen.length;
    const report = await runHealthChecks("test", [httpCheck({ url: `${base}/hang`, timeoutMs: 150 })]);
    expect(report.checks[0]).toMatchObject({ status: "fail", timedOut: true });
    expect(seen.length).toBe(before + 1);
  });

  it("fails with the connection error on a closed port", async () => {
    const port = await closedPort();
    const report = await runHealthChecks("test", [httpCheck({ url: `http://127.0.0.1:${port}/x` })]);
    expect(report.checks[0]!.message).toMatch(/fetch failed.*ECONNREFUSED/);
  });

  it("names itself after the host, IPv6 literals included", () => {
    expect(httpCheck({ url: "https://api.example.com/health" }).name).toBe("api.example.com");
    expect(httpCheck({ url: "http://[::1]:8080/health" }).name).toBe("1");
  });

  it("validates its options", () => {
    expect(() => httpCheck({ url: "ftp://x" })).toThrow(/\[ops\/health\] invalid httpCheck options: url: expected an http\(s\) URL/);
    expect(() => httpCheck({ url: "http://x", expectedStatus: [] })).toThrow(/expectedStatus/);
  });
});

describe("eventLoopCheck", () => {
  it("passes on an idle loop and fails after a stall longer than failMs", async () => {
    // Thresholds far above what a loaded CI machine shows in a few ms, far below the stalls made here.
    const check = eventLoopCheck({ warnMs: 400, failMs: 400 });
    try {
      await new Promise((r) => setTimeout(r, 30));
      expect(await runHealthChecks("test", [check])).toMatchObject({ status: "pass" });
      // Block the loop for 1 s right after a run (the window was just reset).
      const until = Date.now() + 1_000;
      while (Date.now() < until);
      const report = await runHealthChecks("test", [check]);
      expect(report.checks[0]).toMatchObject({ key: "eventloop:delay", status: "fail", observedUnit: "ms" });
      expect(report.checks[0]!.observedValue as number).toBeGreaterThan(400);
      expect(report.checks[0]!.message).toMatch(/event loop delayed/);
      // The stall is counted once: the next window after it is calm again.
      await new Promise((r) => setTimeout(r, 30));
      expect((await runHealthChecks("test", [check])).status).toBe("pass");
      // A stall the sampler has already recorded is still reported.
      const until2 = Date.now() + 1_000;
      while (Date.now() < until2);
      await new Promise((r) => setTimeout(r, 60));
      expect((await runHealthChecks("test", [check])).status).toBe("fail");
    } finally {
      check.close();
    }
  });

  it("validates thresholds", () => {
    expect(() => eventLoopCheck({ warnMs: 500, failMs: 100 })).toThrow(/warnMs: expected warnMs <= failMs/);
  });
});

describe("heapCheck", () => {
  it("reports heap use against the limit, failing above failRatio", async () => {
    const ok = await runHealthChecks("test", [heapCheck()]);
    expect(ok.checks[0]).toMatchObject({ key: "memory:heapUsed", status: "pass", observedUnit: "percent" });
    expect(ok.checks[0]!.message).toMatch(/^heap [\d.]+% of its limit used$/);
    // Any live process uses more than a millionth of its heap limit.
    const tight = await runHealthChecks("test", [heapCheck({ warnRatio: 0.000001, failRatio: 0.000001 })]);
    expect(tight.checks[0]).toMatchObject({ status: "fail" });
    const warn = await runHealthChecks("test", [heapCheck({ warnRatio: 0.000001, failRatio: 1 })]);
    expect(warn.checks[0]).toMatchObject({ status: "warn" });
  });
});

describe("diskCheck", () => {
  it("reports free bytes with fs.statfs and applies thresholds", async () => {
    const ok = await runHealthChecks("test", [diskCheck({ path: tmpdir(), warnBelowBytes: 1, failBelowBytes: 0 })]);
    expect(ok.checks[0]).toMatchObject({ key: "disk:free", status: "pass", observedUnit: "bytes" });
    expect(ok.checks[0]!.observedValue as number).toBeGreaterThan(0);
    expect(ok.checks[0]!.message).toMatch(/^[\d.]+ (B|KiB|MiB|GiB|TiB) free \([\d.]+%\)$/);
    const full = await runHealthChecks("test", [diskCheck({ path: tmpdir(), failBelowBytes: Number.MAX_SAFE_INTEGER })]);
    expect(full.checks[0]).toMatchObject({ status: "fail", message: expect.stringMatching(/free/) });
    const low = await runHealthChecks("test", [diskCheck({ path: tmpdir(), warnBelowBytes: Number.MAX_SAFE_INTEGER, failBelowBytes: 0 })]);
    expect(low.checks[0]).toMatchObject({ status: "warn" });
  });

  it("fails on a path that does not exist", async () => {
    const report = await runHealthChecks("test", [diskCheck({ path: "/no/such/dir/here" })]);
    expect(report.checks[0]!.message).toMatch(/ENOENT/);
  });
});
