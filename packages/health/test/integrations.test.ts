import { createServer, type Server } from "node:http";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import {
  bearerToken,
  createFetchHandler,
  createHealth,
  fastifyHealth,
  HEALTH_JSON_TYPE,
  healthMiddleware,
  healthNodeRoute,
  healthRoute,
  PROMETHEUS_CONTENT_TYPE,
  type Health,
  type HealthCheck,
} from "@ops/health";
import { closeServer, fetchServer, listen } from "./helpers.js";

const TOKEN = "integration-test-token-0123456789";

function makeHealth(state: { dbUp: boolean; cacheUp: boolean }): Health {
  const db: HealthCheck = {
    name: "db",
    componentType: "datastore",
    run: () => ({ ok: state.dbUp, message: "db at postgres://u:pw-in-msg@h/db unreachable" }),
  };
  const cache: HealthCheck = { name: "cache", critical: false, run: () => state.cacheUp };
  return createHealth({
    env: "test",
    service: { serviceId: "api", version: "1" },
    checks: [db, cache],
    cacheTtlMs: 0,
    details: bearerToken(TOKEN),
  });
}

const servers: Server[] = [];
const healths: Health[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
  for (const h of healths.splice(0)) h.close();
});

type Serve = (health: Health) => Promise<string>;

const frameworks: Array<[string, Serve]> = [
  [
    "fetch handler (createFetchHandler)",
    async (health) => {
      const s = fetchServer(createFetchHandler(health));
      servers.push(s);
      return listen(s);
    },
  ],
  [
    "Hono",
    async (health) => {
      const app = new Hono();
      const handler = createFetchHandler(health);
      app.use("*", async (c, next) => (await handler(c.req.raw)) ?? next());
      app.get("/", (c) => c.text("home"));
      const s = fetchServer((req) => app.fetch(req));
      servers.push(s);
      return listen(s);
    },
  ],
  [
    "Express",
    async (health) => {
      const app = express();
      app.use(healthMiddleware(health));
      app.get("/", (_req, res) => void res.send("home"));
      const s = createServer(app);
      servers.push(s);
      return listen(s);
    },
  ],
  [
    "node http",
    async (health) => {
      const mw = healthMiddleware(health);
      const s = createServer((req, res) => mw(req, res));
      servers.push(s);
      return listen(s);
    },
  ],
  [
    "Fastify",
    async (health) => {
      const app = Fastify();
      await app.register(fastifyHealth, { health });
      app.get("/", async () => "home");
      await app.listen({ port: 0, host: "127.0.0.1" });
      afterCleanup.push(() => app.close());
      const addr = app.server.address();
      return `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    },
  ],
];
const afterCleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(afterCleanup.splice(0).map((f) => f()));
});

for (const [label, serve] of frameworks) {
  describe(`${label} on 127.0.0.1`, () => {
    it("answers probes with health+json: 200 pass, 200 warn, 503 fail; short view without a token", async () => {
      const state = { dbUp: true, cacheUp: true };
      const health = makeHealth(state);
      healths.push(health);
      const base = await serve(health);

      let res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(HEALTH_JSON_TYPE);
      expect(res.headers.get("cache-control")).toContain("no-store");
      expect(await res.json()).toEqual({ status: "pass", serviceId: "api", version: "1" });

      state.cacheUp = false;
      res = await fetch(`${base}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "warn", serviceId: "api", version: "1" });

      state.dbUp = false;
      res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "fail", serviceId: "api", version: "1" });

      // Liveness does not depend on the database.
      res = await fetch(`${base}/livez`);
      expect(res.status).toBe(200);
      res = await fetch(`${base}/startupz`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    });

    it("shows details only with the token, scrubbed", async () => {
      const health = makeHealth({ dbUp: false, cacheUp: true });
      healths.push(health);
      const base = await serve(health);
      const denied = await (await fetch(`${base}/health`, { headers: { authorization: "Bearer nope" } })).json();
      expect(denied).not.toHaveProperty("checks");
      const res = await fetch(`${base}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { checks: Record<string, Array<{ status: string; output?: string }>>; output: string };
      expect(Object.keys(body.checks)).toEqual(["db", "cache"]);
      expect(body.checks.db![0]).toMatchObject({ status: "fail", output: "db at [redacted] unreachable", componentType: "datastore" });
      expect(body.output).toBe("failing: db");
      const short = await (await fetch(`${base}/health?view=short`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
      expect(short).toEqual({ status: "fail", serviceId: "api", version: "1" });
    });

    it("serves Prometheus metrics, HEAD, and readiness 503 once shutting down", async () => {
      const health = makeHealth({ dbUp: true, cacheUp: false });
      healths.push(health);
      const base = await serve(health);
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
      const text = await metrics.text();
      expect(text).toContain('ops_health_check_up{probe="readiness",check="cache",component="cache",critical="false"} 0');
      expect(text).toContain('ops_health_status{probe="readiness",status="warn"} 1');
      expect(text).toMatch(/ops_health_check_duration_seconds\{probe="readiness",check="db",/);
      expect(text).toContain("ops_health_shutting_down 0");

      const head = await fetch(`${base}/readyz`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe("");

      health.beginShutdown();
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain("ops_health_shutting_down 1");
    });

    it("leaves other paths to the app", async () => {
      const health = makeHealth({ dbUp: true, cacheUp: true });
      healths.push(health);
      const base = await serve(health);
      const res = await fetch(`${base}/`);
      if (label === "node http" || label.startsWith("fetch handler")) expect(res.status).toBe(404);
      else expect(await res.text()).toBe("home");
    });
  });
}

describe("healthRoute (a Next.js route handler)", () => {
  it("serves one probe whatever the path, and ignores Next's context argument", async () => {
    const state = { dbUp: true, cacheUp: true };
    const health = makeHealth(state);
    healths.push(health);
    // app/api/health/route.ts: export const GET = healthRoute(health, "readiness");
    const GET = healthRoute(health, "readiness");
    const route = GET as (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
    const s = fetchServer((req) => route(req, { params: Promise.resolve({}) }));
    servers.push(s);
    const base = await listen(s);
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    state.dbUp = false;
    const res = await fetch(`${base}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: object }).checks).toHaveProperty("db");
    const post = await fetch(`${base}/api/health`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("healthNodeRoute serves one probe on any path (Next.js pages router, an Express route)", async () => {
    const state = { dbUp: true, cacheUp: true };
    const health = makeHealth(state);
    healths.push(health);
    const app = express();
    app.get("/ops/ready", healthNodeRoute(health, "readiness"));
    const s = createServer(app);
    servers.push(s);
    const base = await listen(s);
    expect((await fetch(`${base}/ops/ready`)).status).toBe(200);
    state.dbUp = false;
    const res = await fetch(`${base}/ops/ready?view=short`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "fail", serviceId: "api", version: "1" });
    expect(() => healthNodeRoute(health, "nope" as never)).toThrow(/healthNodeRoute route/);
  });

  it("custom paths and disabled routes", async () => {
    const health = makeHealth({ dbUp: true, cacheUp: true });
    healths.push(health);
    const s = fetchServer(createFetchHandler(health, { paths: { readiness: "/ops/ready", metrics: false } }));
    servers.push(s);
    const base = await listen(s);
    expect((await fetch(`${base}/ops/ready`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
  });
});

describe("handler options are validated when the handler is made", () => {
  it("rejects malformed paths, unknown routes and a missing health", async () => {
    const health = makeHealth({ dbUp: true, cacheUp: true });
    healths.push(health);
    expect(() => createFetchHandler(health, { paths: { readiness: "readyz" } })).toThrow(
      /\[ops\/health\] invalid createFetchHandler paths: readiness: expected a path starting with \//,
    );
    expect(() => healthMiddleware(health, { paths: { readiness: "/x", liveness: "/x" } })).toThrow(/"\/x" is used twice/);
    expect(() => createFetchHandler(health, { paths: { ready: "/r" } as never })).toThrow(/ready/);
    expect(() => healthRoute(health, "ready" as never)).toThrow(/healthRoute route/);
    const app = Fastify();
    await expect(app.register(fastifyHealth, {} as never)).rejects.toThrow(/fastifyHealth options: health/);
    await app.close();
  });
});
