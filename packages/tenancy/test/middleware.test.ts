import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import express from "express";
import { memoryStores } from "@ops/adapter-memory";
import type { AuditSinkEntry } from "@ops/core";
import {
  agreeing,
  currentTenant,
  fromHeader,
  fromJwtClaim,
  fromPathSegment,
  scopeStores,
  tenantMiddleware,
  withTenantFetch,
  withTenantNode,
} from "@ops/tenancy";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("middleware", () => {
  it("fetch handler: runs in the tenant's scope, 400 when missing or malformed", async () => {
    const handler = withTenantFetch(async () => new Response(`tenant=${currentTenant()}`), { resolve: fromHeader() });
    const ok = await handler(new Request("http://app.local/x", { headers: { "x-tenant-id": "acme" } }));
    expect(await ok.text()).toBe("tenant=acme");
    const missing = await handler(new Request("http://app.local/x"));
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: "tenant_required" });
    const bad = await handler(new Request("http://app.local/x", { headers: { "x-tenant-id": "../etc" } }));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "tenant_invalid" });
    const open = withTenantFetch(async () => new Response(String(currentTenant())), { resolve: fromHeader(), onMissing: "continue" });
    expect(await (await open(new Request("http://app.local/"))).text()).toBe("undefined");
  });

  it("plain node http server: the scope survives awaits in the handler", async () => {
    const server = createServer(
      withTenantNode(
        async (_req, res) => {
          await new Promise((r) => setTimeout(r, 2));
          res.end(`tenant=${currentTenant()}`);
        },
        { resolve: fromPathSegment({ after: "t" }) },
      ),
    );
    const base = await listen(server);
    const replies = await Promise.all(["acme", "globex", "initech", "acme"].map(async (t) => (await fetch(`${base}/t/${t}/x`)).text()));
    expect(replies).toEqual(["tenant=acme", "tenant=globex", "tenant=initech", "tenant=acme"]);
    expect((await fetch(`${base}/nothing`)).status).toBe(400);
  });

  it("Express: scoped stores behind the middleware; a forged token is 403 and reported", async () => {
    const raw = memoryStores();
    const audit: AuditSinkEntry[] = [];
    const signals: string[] = [];
    const guard = {
      audit: { record: async (e: AuditSinkEntry) => void audit.push(e) },
      signals: { recordAuthEvent: (e: { type: string }) => void signals.push(e.type) },
    };
    const stores = scopeStores(raw, guard);
    const app = express();
    app.use(tenantMiddleware({ resolve: agreeing(fromHeader(), fromJwtClaim({ verify: (t) => ({ tenant_id: t.slice(4) }) })), ...guard }));
    app.put("/flags/:key", async (req, res) => {
      const rec = await stores.flags.put({ env: "prod", key: req.params.key, config: true, expectedVersion: null, actor: "u" });
      res.json({ tenantId: rec.tenantId });
    });
    app.get("/flags", async (_req, res) => {
      const page = await stores.flags.list({ env: "prod" });
      res.json(page.items.map((r) => `${r.tenantId}/${r.key}`));
    });
    const base = await listen(createServer(app));
    const as = (t: string, h: Record<string, string> = {}) => ({ headers: { authorization: `Bearer tok-${t}`, ...h } });
    expect(await (await fetch(`${base}/flags/a1`, { method: "PUT", ...as("acme") })).json()).toEqual({ tenantId: "acme" });
    expect(await (await fetch(`${base}/flags/g1`, { method: "PUT", ...as("globex") })).json()).toEqual({ tenantId: "globex" });
    expect(await (await fetch(`${base}/flags`, as("acme"))).json()).toEqual(["acme/a1"]);
    expect(await (await fetch(`${base}/flags`, as("globex"))).json()).toEqual(["globex/g1"]);
    // Token for acme, header claiming globex: refused and reported.
    const forged = await fetch(`${base}/flags`, as("acme", { "x-tenant-id": "globex" }));
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({ error: "tenant_forbidden" });
    expect(signals).toEqual(["CROSS_TENANT_ACCESS"]);
    expect(audit[0]).toMatchObject({ action: "TENANT_ISOLATION_VIOLATION", outcome: "failure" });
  });
});

describe("middleware leak reports (review)", () => {
  it("a contradictory request with a huge tenant header is still audited (reason kept within the audit limit)", async () => {
    const recorded: AuditSinkEntry[] = [];
    const failures: unknown[] = [];
    // Holds the limit @ops/audit enforces on `reason` (1024 characters).
    const audit = {
      record: async (e: AuditSinkEntry) => {
        if ((e.reason ?? "").length > 1024) throw new Error("invalid audit entry: reason");
        recorded.push(e);
      },
    };
    const handler = withTenantFetch(async () => new Response("ok"), {
      resolve: agreeing(fromHeader(), fromPathSegment({ after: "t" })),
      audit,
      onReportError: (err) => failures.push(err),
    });
    const res = await handler(new Request("http://app.local/t/acme/x", { headers: { "x-tenant-id": "g".repeat(4000) } }));
    expect(res.status).toBe(403);
    expect(failures).toEqual([]);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.reason?.length).toBeLessThanOrEqual(1024);
  });
});
