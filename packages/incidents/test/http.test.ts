import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryCounterStore, MemoryIncidentStore } from "@ops/adapter-memory";
import { createAuthOpsHandler, createOpsRuntime, deriveAuthIncidents, runAuthOpsSpine, toNodeHandler } from "../src/index.js";

const body = {
  metrics: { failed_logins_1h: 150, cross_tenant_access_attempts_1h: 1 },
  context: { tenantId: "acme", now: "2026-11-26T10:00:00.000Z" },
};

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function checkServer(base: string, path = "/api/ops/auth") {
  const ok = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(ok.status).toBe(200);
  const json = (await ok.json()) as { ok: boolean; incidents: Array<{ event: { incident_type: string }; response: { decision: string } }> };
  expect(json.ok).toBe(true);
  expect(json.incidents.map((i) => i.event.incident_type).sort()).toEqual(["FAILED_LOGINS_SPIKE", "TENANT_LEAK_RISK"]);
  expect(json.incidents.find((i) => i.event.incident_type === "FAILED_LOGINS_SPIKE")!.response.decision).toBe(
    "Contain likely brute force and protect legitimate users.",
  );
  const bad = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ metrics: { failed_logins_1h: -5 }, context: { tenantId: "no spaces allowed" } }),
  });
  expect(bad.status).toBe(400);
  const err = (await bad.json()) as { ok: boolean; issues: Array<{ path: string; message: string }> };
  expect(err.ok).toBe(false);
  expect(err.issues.map((i) => i.path)).toContain("context.tenantId");
  const bad2 = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ metrics: { failed_logins_1h: -5 } }),
  });
  expect(bad2.status).toBe(400);
  expect(((await bad2.json()) as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toEqual(["metrics.failed_logins_1h"]);
  const missing = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(missing.status).toBe(400);
  expect(((await missing.json()) as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toEqual(["metrics"]);
  const notJson = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: "{oops" });
  expect(notJson.status).toBe(400);
}

describe("POST /api/ops/auth handler", () => {
  const handler = createAuthOpsHandler();

  it("works as a Next.js route handler (Request -> Response)", async () => {
    const POST = handler;
    const res = await POST(
      new Request("http://localhost/api/ops/auth", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const get = await handler(new Request("http://localhost/api/ops/auth"));
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("matches the seed's hand-written route", async () => {
    // A hand-written Next.js route body, as users wrote it before the ready-made handler.
    async function POST(req: Request) {
      const b = (await req.json()) as { metrics: unknown; context: unknown };
      const incidents = deriveAuthIncidents(b.metrics, b.context);
      const results = [];
      for (const event of incidents) results.push({ event, response: runAuthOpsSpine(event) });
      return Response.json({ ok: true, incidents: results });
    }
    const mk = () =>
      new Request("http://localhost/api/ops/auth", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect(await (await POST(mk())).json()).toEqual(await (await handler(mk())).json());
  });

  it("takes the tenant from the request, not the body, when told to", async () => {
    const h = createAuthOpsHandler({ tenantFromRequest: (req) => req.headers.get("x-tenant") ?? undefined });
    const res = await h(
      new Request("http://localhost/x", {
        method: "POST",
        headers: { "content-type": "application/json", "x-tenant": "globex" },
        body: JSON.stringify(body),
      }),
    );
    const json = (await res.json()) as { incidents: Array<{ event: { tenant_id: string } }> };
    expect(json.incidents.every((i) => i.event.tenant_id === "globex")).toBe(true);
  });

  it("hands incidents to a runtime (deduped across calls)", async () => {
    const stores = { incidents: new MemoryIncidentStore(), counters: new MemoryCounterStore() };
    const runtime = createOpsRuntime({ stores });
    const h = createAuthOpsHandler({ onIncident: (event) => runtime.handle(event) });
    const mk = () =>
      new Request("http://localhost/x", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    await h(mk());
    await h(mk());
    expect((await stores.incidents.list({ tenantId: "acme" })).items).toHaveLength(2);
  });

  it("rejects other content types and oversize bodies", async () => {
    const h = createAuthOpsHandler({ maxBodyBytes: 100 });
    expect((await h(new Request("http://l/x", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }))).status).toBe(415);
    expect(
      (
        await h(
          new Request("http://l/x", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ metrics: { pad: "x".repeat(200) } }),
          }),
        )
      ).status,
    ).toBe(413);
  });

  describe("behind real servers on 127.0.0.1", () => {
    const servers: Server[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    });

    it("node http via toNodeHandler", async () => {
      const s = createServer(toNodeHandler(handler));
      servers.push(s);
      await checkServer(await listen(s));
    });

    it("Express, with and without express.json()", async () => {
      const app = express();
      app.post("/api/ops/auth", toNodeHandler(handler));
      app.post("/parsed/api/ops/auth", express.json(), toNodeHandler(handler));
      const s = createServer(app);
      servers.push(s);
      const base = await listen(s);
      await checkServer(base);
      await checkServer(base, "/parsed/api/ops/auth");
    });

    it("Hono (app.fetch served by node http)", async () => {
      const app = new Hono();
      app.post("/api/ops/auth", (c) => handler(c.req.raw));
      const s = createServer(toNodeHandler((req) => app.fetch(req)));
      servers.push(s);
      await checkServer(await listen(s));
    });
  });
});
