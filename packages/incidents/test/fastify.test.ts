import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { createAuthOpsHandler, toFastifyHandler, toNodeHandler } from "../src/index.js";

const body = {
  metrics: { failed_logins_1h: 150, cross_tenant_access_attempts_1h: 1 },
  context: { tenantId: "acme", now: "2026-11-26T10:00:00.000Z" },
};
const post = (url: string, payload: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: payload });

describe("the incidents route on Fastify (real server on loopback)", () => {
  const apps: Array<{ close(): Promise<unknown> }> = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  it("toFastifyHandler: POST /api/ops/auth answers 200 with incidents, 400 naming the bad field, and keeps Fastify's headers", async () => {
    const app = Fastify();
    apps.push(app);
    app.post("/api/ops/auth", toFastifyHandler(createAuthOpsHandler()));
    const base = await app.listen({ port: 0, host: "127.0.0.1" });
    const ok = await post(`${base}/api/ops/auth`, JSON.stringify(body));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^application\/json/);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    const json = (await ok.json()) as { ok: boolean; incidents: Array<{ event: { incident_type: string } }> };
    expect(json.ok).toBe(true);
    expect(json.incidents.map((i) => i.event.incident_type).sort()).toEqual(["FAILED_LOGINS_SPIKE", "TENANT_LEAK_RISK"]);
    const bad = await post(`${base}/api/ops/auth`, JSON.stringify({ metrics: { failed_logins_1h: -5 } }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toEqual(["metrics.failed_logins_1h"]);
    const notPost = await fetch(`${base}/api/ops/auth`, { method: "GET" });
    expect(notPost.status).toBe(404); // only POST is routed
  });

  it("the obvious reply.hijack() + toNodeHandler mount reads an empty body (Fastify consumed it): why toFastifyHandler exists", async () => {
    const app = Fastify();
    apps.push(app);
    const handler = toNodeHandler(createAuthOpsHandler());
    app.post("/api/ops/auth", async (request, reply) => {
      reply.hijack();
      await handler(request.raw, reply.raw);
    });
    const base = await app.listen({ port: 0, host: "127.0.0.1" });
    const res = await post(`${base}/api/ops/auth`, JSON.stringify(body));
    expect(res.status).toBe(400);
  });
});
