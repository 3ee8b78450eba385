import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { consoleMiddleware, consoleRouteHandlers, fastifyConsole, honoConsole } from "../src/index.js";
import { FLAG, fixture } from "./fixture.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** Sends `total` bytes in 64 KiB chunks until the response comes; returns status and bytes sent. */
function streamBig(base: string, path: string, total: number): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    let sent = 0;
    let done = false;
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: "PUT",
        headers: { "content-type": "application/json", "x-test-principal": "global:admin", "transfer-encoding": "chunked" },
      },
      (res) => {
        done = true;
        res.resume();
        resolve({ status: res.statusCode ?? 0, sent });
        req.destroy();
      },
    );
    req.on("error", (err) => (done ? undefined : reject(err)));
    const chunk = Buffer.alloc(64 * 1024, 32);
    const pump = () => {
      while (!done && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!done) req.end();
    };
    pump();
  });
}

async function exercise(base: string) {
  const h = { "x-test-principal": "global:admin" };
  const s = await fetch(`${base}/ops/api/v1/session`, { headers: h });
  expect(s.status).toBe(200);
  expect(s.headers.get("set-cookie")).toMatch(/ops_csrf=/);
  expect(((await s.json()) as { principal: { actorId: string } }).principal.actorId).toBe("global-admin@example.test");
  expect((await fetch(`${base}/ops/api/v1/session`)).status).toBe(401);
  const put = await fetch(`${base}/ops/api/v1/flags/${FLAG}/value`, {
    method: "PUT",
    headers: { ...h, "content-type": "application/json" },
    body: JSON.stringify({ value: true, reason: "adapter test" }),
  });
  expect(put.status, await put.clone().text()).toBe(200);
  const big = await streamBig(base, `/ops/api/v1/flags/${FLAG}/value`, 200 * 1024 * 1024);
  expect(big.status).toBe(413);
  expect(big.sent).toBeLessThan(50 * 1024 * 1024);
  const page = await fetch(`${base}/ops`, { redirect: "manual" });
  expect(page.status).toBe(308);
  expect(page.headers.get("location")).toBe("/ops/");
}

describe("framework adapters on loopback", () => {
  it("Express: middleware before the app's routes; other paths go on", async () => {
    const f = await fixture({ maxBodyBytes: 4096 });
    closers.push(() => f.close());
    const app = express();
    app.use(consoleMiddleware(f.console));
    app.get("/hello", (_req, res) => void res.send("app"));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await exercise(base);
    expect(await (await fetch(`${base}/hello`)).text()).toBe("app");
  });

  it("Fastify: a plugin that leaves the app's body parsers alone", async () => {
    const f = await fixture({ maxBodyBytes: 4096 });
    closers.push(() => f.close());
    const app = Fastify();
    await app.register(fastifyConsole(f.console));
    app.post("/echo", async (req) => req.body);
    const base = await app.listen({ port: 0, host: "127.0.0.1" });
    closers.push(() => app.close());
    await exercise(base);
    const echo = await fetch(`${base}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}' });
    expect(await echo.json()).toEqual({ a: 1 });
  });

  it("Hono on @hono/node-server", async () => {
    const f = await fixture({ maxBodyBytes: 4096 });
    closers.push(() => f.close());
    const app = honoConsole(new Hono(), f.console);
    app.get("/hello", (c) => c.text("app"));
    const base = await new Promise<string>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => resolve(`http://127.0.0.1:${info.port}`));
      closers.push(() => new Promise((r) => s.close(() => r())));
    });
    await exercise(base);
    expect(await (await fetch(`${base}/hello`)).text()).toBe("app");
  });

  it("Next.js route handlers are the fetch handler per method", async () => {
    const f = await fixture();
    closers.push(() => f.close());
    const { GET, PUT } = consoleRouteHandlers(f.console);
    expect(
      (await GET(new Request("http://app.test/ops/api/v1/session", { headers: { "x-test-principal": "tenant:viewer" } }))).status,
    ).toBe(200);
    const res = await PUT(
      new Request(`http://app.test/ops/api/v1/flags/${FLAG}/value`, {
        method: "PUT",
        headers: { "x-test-principal": "tenant:admin", "content-type": "application/json" },
        body: JSON.stringify({ value: true, reason: "x" }),
      }),
    );
    expect(res.status).toBe(403);
  });
});
