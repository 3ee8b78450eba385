import { afterEach, describe, expect, it } from "vitest";
import { FLAG, T1, T2, fixture } from "./fixture.js";

type Ids = Awaited<ReturnType<typeof fixture>>["ids"];

/**
 * THE authorization table: every API route x (anonymous, tenant viewer/operator/admin, global
 * viewer/operator/admin) -> expected status. "2xx" cells accept 200 or 201. A route the router
 * knows without a row here fails the last test.
 *
 * expect: "anon | tenant viewer operator admin | global viewer operator admin"
 */
const R = "because the test says so";
const TABLE: Array<{ route: string; why?: string; req: (ids: Ids) => { path: string; body?: unknown }; expect: string }> = [
  { route: "GET /api/v1/session", req: () => ({ path: "/session" }), expect: "401 | 200 200 200 | 200 200 200" },
  { route: "GET /api/v1/flags", req: () => ({ path: "/flags" }), expect: "401 | 200 200 200 | 200 200 200" },
  {
    route: "GET /api/v1/flags",
    why: "another tenant's view",
    req: () => ({ path: `/flags?tenant=${T2}` }),
    expect: "401 | 403 403 403 | 200 200 200",
  },
  { route: "GET /api/v1/flags/:key", req: () => ({ path: `/flags/${FLAG}` }), expect: "401 | 200 200 200 | 200 200 200" },
  {
    route: "GET /api/v1/flags/:key",
    why: "unknown flag",
    req: () => ({ path: "/flags/no.such.flag" }),
    expect: "401 | 404 404 404 | 404 404 404",
  },
  { route: "GET /api/v1/flags/:key/history", req: () => ({ path: `/flags/${FLAG}/history` }), expect: "401 | 200 200 200 | 200 200 200" },
  {
    route: "POST /api/v1/flags/:key/evaluate",
    req: () => ({ path: `/flags/${FLAG}/evaluate`, body: { context: { userId: "u1" } } }),
    expect: "401 | 200 200 200 | 200 200 200",
  },
  {
    route: "PUT /api/v1/flags/:key/value",
    req: () => ({ path: `/flags/${FLAG}/value`, body: { value: true, reason: R } }),
    expect: "401 | 403 403 403 | 403 403 200",
  },
  {
    route: "PUT /api/v1/flags/:key/enabled",
    req: () => ({ path: `/flags/${FLAG}/enabled`, body: { enabled: false, reason: R } }),
    expect: "401 | 403 403 403 | 403 403 200",
  },
  {
    route: "PUT /api/v1/flags/:key/rollout",
    req: () => ({ path: `/flags/${FLAG}/rollout`, body: { rollout: { percentage: 30, value: true }, reason: R } }),
    expect: "401 | 403 403 403 | 403 403 200",
  },
  {
    route: "POST /api/v1/flags/:key/schedule",
    req: () => ({
      path: `/flags/${FLAG}/schedule`,
      body: { at: new Date(Date.now() + 3_600_000).toISOString(), patch: { enabled: false }, reason: R },
    }),
    expect: "401 | 403 403 403 | 403 403 2xx",
  },
  {
    route: "DELETE /api/v1/flags/:key/schedule/:id",
    req: (ids) => ({ path: `/flags/${FLAG}/schedule/${ids.scheduleId}`, body: { reason: R } }),
    expect: "401 | 403 403 403 | 403 403 200",
  },
  {
    route: "PUT /api/v1/flags/:key/overrides/:tenant",
    req: () => ({ path: `/flags/${FLAG}/overrides/${T1}`, body: { value: false, reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  {
    route: "PUT /api/v1/flags/:key/overrides/:tenant",
    why: "another tenant's override",
    req: () => ({ path: `/flags/${FLAG}/overrides/${T2}`, body: { value: false, reason: R } }),
    expect: "401 | 403 403 403 | 403 200 200",
  },
  {
    route: "DELETE /api/v1/flags/:key/overrides/:tenant",
    req: () => ({ path: `/flags/${FLAG}/overrides/${T1}`, body: { reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  { route: "GET /api/v1/incidents", req: () => ({ path: "/incidents" }), expect: "401 | 200 200 200 | 200 200 200" },
  {
    route: "GET /api/v1/incidents",
    why: "another tenant's incidents",
    req: () => ({ path: `/incidents?tenant=${T2}` }),
    expect: "401 | 403 403 403 | 200 200 200",
  },
  {
    route: "GET /api/v1/incidents/:id",
    req: (ids) => ({ path: `/incidents/${ids.incT}?tenant=${T1}` }),
    expect: "401 | 200 200 200 | 200 200 200",
  },
  {
    route: "GET /api/v1/incidents/:id",
    why: "a global incident",
    req: (ids) => ({ path: `/incidents/${ids.incG}` }),
    expect: "401 | 404 404 404 | 200 200 200",
  },
  {
    route: "POST /api/v1/incidents/:id/acknowledge",
    req: (ids) => ({ path: `/incidents/${ids.incT}/acknowledge?tenant=${T1}`, body: { reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  {
    route: "POST /api/v1/incidents/:id/acknowledge",
    why: "a global incident",
    req: (ids) => ({ path: `/incidents/${ids.incG}/acknowledge`, body: { reason: R } }),
    expect: "401 | 403 404 404 | 403 200 200",
  },
  {
    route: "POST /api/v1/incidents/:id/resolve",
    req: (ids) => ({ path: `/incidents/${ids.incT}/resolve?tenant=${T1}`, body: { reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  {
    route: "POST /api/v1/incidents/:id/mitigate",
    req: (ids) => ({ path: `/incidents/${ids.incT}/mitigate?tenant=${T1}`, body: { reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  {
    route: "POST /api/v1/incidents/:id/mitigate",
    why: "a tenant incident that also recommends a global flag",
    req: (ids) => ({ path: `/incidents/${ids.incLeakT}/mitigate?tenant=${T1}`, body: { reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  {
    route: "POST /api/v1/incidents/:id/rollback",
    req: (ids) => ({ path: `/incidents/${ids.applied}/rollback?tenant=${T1}`, body: { reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  {
    route: "POST /api/v1/incidents/:id/apply-suggestion",
    req: (ids) => ({ path: `/incidents/${ids.incLeakT}/apply-suggestion?tenant=${T1}`, body: { key: "tenancy.strict_guard", reason: R } }),
    expect: "401 | 403 403 403 | 403 403 200",
  },
  { route: "GET /api/v1/silences", req: () => ({ path: "/silences" }), expect: "401 | 200 200 200 | 200 200 200" },
  {
    route: "POST /api/v1/silences",
    req: () => ({
      path: "/silences",
      body: { matcher: { types: ["FAILED_LOGINS_SPIKE"] }, endsAt: new Date(Date.now() + 3_600_000).toISOString(), reason: R },
    }),
    expect: "401 | 403 2xx 2xx | 403 2xx 2xx",
  },
  {
    route: "POST /api/v1/silences",
    why: "naming another tenant",
    req: () => ({
      path: "/silences",
      body: { matcher: { tenantIds: [T2] }, endsAt: new Date(Date.now() + 3_600_000).toISOString(), reason: R },
    }),
    expect: "401 | 403 403 403 | 403 2xx 2xx",
  },
  {
    route: "DELETE /api/v1/silences/:id",
    req: (ids) => ({ path: `/silences/${ids.silT}`, body: { reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  {
    route: "DELETE /api/v1/silences/:id",
    why: "a global silence",
    req: (ids) => ({ path: `/silences/${ids.silG}`, body: { reason: R } }),
    expect: "401 | 403 404 404 | 403 200 200",
  },
  {
    route: "POST /api/v1/runtime/tick",
    req: () => ({ path: "/runtime/tick", body: { reason: R } }),
    expect: "401 | 403 403 403 | 403 200 200",
  },
  { route: "GET /api/v1/audit", req: () => ({ path: "/audit" }), expect: "401 | 200 200 200 | 200 200 200" },
  {
    route: "GET /api/v1/audit",
    why: "another tenant's chain",
    req: () => ({ path: `/audit?tenant=${T2}` }),
    expect: "401 | 403 403 403 | 200 200 200",
  },
  { route: "GET /api/v1/audit/verify", req: () => ({ path: "/audit/verify" }), expect: "401 | 200 200 200 | 200 200 200" },
  {
    route: "GET /api/v1/audit/export",
    req: () => ({ path: `/audit/export?format=jsonl&reason=${encodeURIComponent(R)}` }),
    expect: "401 | 403 403 200 | 403 403 200",
  },
  { route: "GET /api/v1/outbox", req: () => ({ path: "/outbox?status=dead" }), expect: "401 | 200 200 200 | 200 200 200" },
  {
    route: "POST /api/v1/outbox/:id/resend",
    req: (ids) => ({ path: `/outbox/${ids.deadT}/resend`, body: { reason: R } }),
    expect: "401 | 403 2xx 2xx | 403 2xx 2xx",
  },
  {
    route: "POST /api/v1/outbox/:id/resend",
    why: "a global notification",
    req: (ids) => ({ path: `/outbox/${ids.deadG}/resend`, body: { reason: R } }),
    expect: "401 | 403 404 404 | 403 2xx 2xx",
  },
  {
    route: "POST /api/v1/outbox/:id/cancel",
    req: (ids) => ({ path: `/outbox/${ids.pendT}/cancel`, body: { reason: R } }),
    expect: "401 | 403 200 200 | 403 200 200",
  },
  {
    route: "POST /api/v1/outbox/:id/cancel",
    why: "a global notification",
    req: (ids) => ({ path: `/outbox/${ids.pendG}/cancel`, body: { reason: R } }),
    expect: "401 | 403 404 404 | 403 200 200",
  },
  {
    route: "POST /api/v1/outbox/:id/cancel",
    why: "already dead-lettered",
    req: (ids) => ({ path: `/outbox/${ids.deadT}/cancel`, body: { reason: R } }),
    expect: "401 | 403 409 409 | 403 409 409",
  },
  { route: "GET /api/v1/health", req: () => ({ path: "/health" }), expect: "401 | 403 403 403 | 200 200 200" },
];

const WHO = [null, "tenant:viewer", "tenant:operator", "tenant:admin", "global:viewer", "global:operator", "global:admin"] as const;

function expected(spec: string): string[] {
  const cells = spec.replace(/\|/g, " ").split(/\s+/).filter(Boolean);
  if (cells.length !== WHO.length) throw new Error(`bad table row "${spec}"`);
  return cells;
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

describe("authorization table: route x role x scope", () => {
  for (const row of TABLE) {
    const [method, path] = row.route.split(" ") as [string, string];
    const cells = expected(row.expect);
    WHO.forEach((who, i) => {
      it(`${row.route}${row.why ? ` (${row.why})` : ""} as ${who ?? "anonymous"} -> ${cells[i]}`, async () => {
        const f = await fixture();
        open.push(f);
        const { path: rel, body } = row.req(f.ids);
        const before = f.calls.n;
        const res = await f.call(who, method, `/ops/api/v1${rel}`, body);
        const text = await res.text();
        const want = cells[i]!;
        if (want === "2xx") expect([200, 201], text).toContain(res.status);
        else expect(res.status, text).toBe(Number(want));
        if (!res.ok && res.headers.get("content-type")?.includes("json")) {
          const err = JSON.parse(text) as { error: { code: string; message: string; issues: unknown[] } };
          expect(typeof err.error.code).toBe("string");
          expect(Array.isArray(err.error.issues)).toBe(true);
        }
        // No request without a principal reaches a store, and none refused for its role either.
        if (who === null || want === "403") expect(f.calls.n - before).toBe(0);
        expect(path.startsWith("/api/v1/")).toBe(true);
      });
    });
  }

  it("every API route the console serves has a row (a new route cannot ship without one)", async () => {
    const f = await fixture();
    open.push(f);
    const covered = new Set(TABLE.map((r) => r.route));
    const missing = f.console.routes.map((r) => `${r.method} ${r.path}`).filter((r) => !covered.has(r));
    expect(missing).toEqual([]);
    const stale = [...covered].filter((r) => !f.console.routes.some((x) => `${x.method} ${x.path}` === r));
    expect(stale).toEqual([]);
  });

  it("an unknown API route answers 401 without a principal and 404 with one", async () => {
    const f = await fixture();
    open.push(f);
    expect((await f.call(null, "GET", "/ops/api/v1/nope")).status).toBe(401);
    expect((await f.call("global:admin", "GET", "/ops/api/v1/nope")).status).toBe(404);
    expect((await f.call("global:admin", "PATCH", "/ops/api/v1/flags")).status).toBe(405);
  });
});
