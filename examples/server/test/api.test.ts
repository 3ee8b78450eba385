import { request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyExport } from "@ops/audit";
import { eventually, startTestService, type TestService } from "./support.js";

// One service (PGlite in a temp dir, mitigation "suggest", ticks driven by the tests) for the file,
// in trusted-header mode (the gateway's headers are set by support.ts).
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t?.close();
});

const A = "tenant_a";
const B = "tenant_b";
const ops = (p: string) => `/ops/api/v1${p}`;
const why = { reason: "test" };

describe("health", () => {
  it("serves liveness, readiness, health+json and Prometheus metrics", async () => {
    const live = await t.call("GET", "/livez", { anonymous: true });
    expect(live.status).toBe(200);
    expect(live.headers.get("content-type")).toContain("application/health+json");
    const ready = await t.call("GET", "/readyz", { anonymous: true });
    expect(ready.json.status).toBe("pass");
    const metrics = await t.call("GET", "/metrics", { anonymous: true });
    expect(metrics.text).toContain('ops_health_status{probe="readiness",status="pass"} 1');
  });

  it("answers unknown routes with a JSON 404", async () => {
    const r = await t.call("GET", "/api/nope");
    expect(r.status).toBe(404);
    expect(r.json.error).toBe("not_found");
  });
});

describe("authentication: no principal, no access", () => {
  it("answers 401 to a request without a principal, with a blank tenant, or without an actor, on the app's routes and the console", async () => {
    for (const path of ["/api/signals", ops("/flags"), ops("/audit"), ops("/incidents")]) {
      expect((await t.call("GET", path, { anonymous: true })).status, path).toBe(401);
      expect(
        (await t.call("GET", path, { anonymous: true, headers: { "x-ops-actor": "eve", "x-ops-roles": "admin", "x-tenant-id": "" } }))
          .status,
        path,
      ).toBe(401);
      expect(
        (await t.call("GET", path, { anonymous: true, headers: { "x-ops-roles": "admin", "x-ops-scope": "global" } })).status,
        path,
      ).toBe(401);
    }
    const put = await t.call("PUT", ops("/flags/g.anon/value"), { anonymous: true, body: { value: true, reason: "x" } });
    expect(put.status).toBe(401);
    expect((await t.call("GET", ops("/flags/g.anon"))).status).toBe(404);
  });

  it("serves the console UI shell at /ops/", async () => {
    const r = await t.call("GET", "/ops/", { anonymous: true });
    // Built by `pnpm build` (turbo); from a fresh clone without a build it says how to build.
    expect([200, 503]).toContain(r.status);
    if (r.status === 200) expect(r.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
  });
});

describe("flags through the console", () => {
  it("a global admin sets a value (audited); a tenant sees its own override only", async () => {
    const set = await t.call("PUT", ops("/flags/g.flag/value"), { body: { value: false, reason: "baseline" } });
    expect(set.status, set.text).toBe(200);
    expect(
      (
        await t.call("PUT", ops(`/flags/g.flag/overrides/${A}`), {
          tenant: A,
          role: "operator",
          body: { value: true, reason: "beta for A" },
        })
      ).status,
    ).toBe(200);
    const a = await t.call("GET", ops("/flags/g.flag"), { tenant: A, role: "viewer" });
    expect(a.json.evaluation).toMatchObject({ value: true, reason: "TENANT_OVERRIDE" });
    const b = await t.call("GET", ops("/flags/g.flag"), { tenant: B, role: "viewer" });
    expect(b.json.override).toBeNull();
    expect(b.json.evaluation.value).toBe(false);
    // B cannot touch A's override, nor read A's view.
    expect(
      (await t.call("PUT", ops(`/flags/g.flag/overrides/${A}`), { tenant: B, role: "admin", body: { value: false, reason: "x" } })).status,
    ).toBe(403);
    expect((await t.call("GET", ops(`/flags/g.flag?tenant=${A}`), { tenant: B })).status).toBe(403);
    const history = await t.call("GET", ops("/flags/g.flag/history"));
    expect(history.json.items[0]).toMatchObject({ action: "FLAG_CHANGE", actor: { id: "test-admin" }, reason: "baseline" });
  });

  it("a tenant principal changes no global flag through any route", async () => {
    for (const [method, path, body] of [
      ["PUT", "/flags/g.flag/value", { value: true, ...why }],
      ["PUT", "/flags/g.flag/enabled", { enabled: false, ...why }],
      ["PUT", "/flags/g.flag/rollout", { rollout: { percentage: 50, value: true }, ...why }],
      ["POST", "/flags/g.flag/schedule", { at: new Date(Date.now() + 60_000).toISOString(), patch: { value: true }, ...why }],
      ["POST", "/runtime/tick", why],
    ] as const)
      expect((await t.call(method, ops(path), { tenant: A, role: "admin", body })).status, path).toBe(403);
    expect((await t.call("GET", ops("/flags/g.flag"))).json.value).toBe(false);
  });

  it("kill switch: a global admin turns a flag off for everyone, overrides included", async () => {
    expect((await t.call("PUT", ops("/flags/g.flag/enabled"), { body: { enabled: false, reason: "incident" } })).status).toBe(200);
    const a = await t.call("POST", ops("/flags/g.flag/evaluate"), { tenant: A, role: "viewer", body: {} });
    // The override (true) is not served while the flag is off.
    expect(a.json.reason).toBe("DISABLED");
    expect(a.json.value).not.toBe(true);
    expect((await t.call("PUT", ops("/flags/g.flag/enabled"), { body: { enabled: true, reason: "over" } })).status).toBe(200);
  });

  it("answers 400 naming the field for bad bodies and changes nothing", async () => {
    const r = await t.call("PUT", ops("/flags/g.flag/value"), { body: { value: true } });
    expect(r.status).toBe(400);
    expect(r.json.error.issues[0].path).toBe("reason");
    const typed = await t.call("PUT", ops("/flags/g.flag/value"), { body: { value: "yes", reason: "x" } });
    expect(typed.status).toBe(400);
    expect((await t.call("GET", ops("/flags/g.flag"))).json.value).toBe(false);
  });
});

describe("signals, the seed route and incidents", () => {
  it("ingests auth signals for the caller's tenant only, naming bad fields", async () => {
    const ok = await t.call("POST", "/api/signals", { tenant: A, role: "", body: { type: "LOGIN_FAILED", userId: "u1" } });
    expect(ok.status).toBe(202);
    const bad = await t.call("POST", "/api/signals", { tenant: A, role: "", body: { type: "LOGIN_FAILED", occurredAt: "monday" } });
    expect(bad.status).toBe(400);
    expect(bad.json.issues[0].path).toBe("occurredAt");
    const other = await t.call("POST", "/api/signals", { tenant: A, role: "", body: { type: "LOGIN_FAILED", tenantId: B } });
    expect(other.status).toBe(400);
  });

  it("a signal with a NUL or a lone surrogate is a 400 naming the field; it records nothing and cannot poison the store's flush", async () => {
    const rec = t.service.runtime.recorder;
    const before = rec.stats().recorded;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ userId: "u\u0000x" }, "userId"],
      [{ ip: "203.0.113.1\u0000" }, "ip"],
      [{ provider: "\ud800" }, "provider"],
      [{ meta: { note: "a\u0000b" } }, "meta.note"],
      // core's storable-JSON check names the bad key itself
      [{ meta: { ["k\u0000"]: 1 } }, "meta.k\u0000"],
      [{ meta: { deep: ["\udc00"] } }, "meta.deep[0]"],
    ];
    for (const [fields, path] of cases) {
      const r = await t.call("POST", "/api/signals", { tenant: A, role: "", body: { type: "LOGIN_FAILED", ...fields } });
      expect(r.status, path).toBe(400);
      expect(
        r.json.issues.map((i: { path: string }) => i.path),
        path,
      ).toContain(path);
      const batch = await t.call("POST", "/api/signals", {
        tenant: A,
        role: "",
        body: {
          events: [
            { type: "LOGIN_FAILED", userId: "fine" },
            { type: "LOGIN_FAILED", ...fields },
          ],
        },
      });
      expect(batch.status, path).toBe(400);
      expect(
        batch.json.issues.map((i: { path: string }) => i.path),
        path,
      ).toContain(`events[1].${path}`);
    }
    expect(rec.stats().recorded).toBe(before);
    // The buffered signals still reach the store.
    await expect(rec.flush()).resolves.toBeUndefined();
  });

  it("a tenant's made-up metrics raise a tenant incident whose mitigation changes no global flag", async () => {
    const r = await t.call("POST", "/api/ops/auth", {
      tenant: A,
      role: "",
      body: {
        metrics: {
          cross_tenant_access_attempts_1h: 50,
          jwt_validation_errors_1h: 900,
          jwt_validations_1h: 1000,
          jwt_invalid_signature_1h: 500,
        },
      },
    });
    expect(r.status, r.text).toBe(200);
    const list = await t.call("GET", ops("/incidents"), { tenant: A, role: "viewer" });
    expect(list.json.items.length).toBeGreaterThanOrEqual(2);
    for (const inc of list.json.items) {
      const m = await t.call("POST", ops(`/incidents/${inc.id}/mitigate`), { tenant: A, role: "admin", body: { reason: "contain" } });
      expect([200, 409]).toContain(m.status);
    }
    for (const key of ["auth.jwt.force_reauth", "auth.jwt.short_access_ttl", "auth.jwt.strict_validation", "tenancy.strict_guard"])
      expect(await t.service.flags.getValue({ key, tenantId: null }), key).toBeUndefined();
    // B sees none of A's incidents.
    const id = list.json.items[0].id;
    expect((await t.call("GET", ops(`/incidents/${id}`), { tenant: B })).status).toBe(404);
    expect((await t.call("POST", ops(`/incidents/${id}/resolve`), { tenant: B, body: why })).status).toBe(404);
  });

  it("acknowledge, roll back and resolve, each audited with the principal and its reason", async () => {
    await t.call("POST", "/api/ops/auth", { tenant: B, role: "", body: { metrics: { failed_logins_1h: 300 } } });
    const inc = (await t.call("GET", ops("/incidents?type=FAILED_LOGINS_SPIKE"), { tenant: B })).json.items[0];
    expect(
      (
        await t.call("POST", ops(`/incidents/${inc.id}/acknowledge`), {
          tenant: B,
          role: "operator",
          actor: "bob",
          body: { reason: "looking" },
        })
      ).json.state,
    ).toBe("acknowledged");
    const m = await t.call("POST", ops(`/incidents/${inc.id}/mitigate`), {
      tenant: B,
      role: "operator",
      actor: "bob",
      body: { reason: "apply plan" },
    });
    expect(m.json.mitigation.status).toBe("applied");
    const rb = await t.call("POST", ops(`/incidents/${inc.id}/rollback`), {
      tenant: B,
      role: "operator",
      actor: "bob",
      body: { reason: "false alarm" },
    });
    expect(rb.status).toBe(200);
    expect(
      (await t.call("POST", ops(`/incidents/${inc.id}/resolve`), { tenant: B, role: "operator", actor: "bob", body: { reason: "done" } }))
        .json.state,
    ).toBe("resolved");
    const trail = await t.call("GET", ops("/audit?actorId=bob&limit=50"), { tenant: B, role: "viewer" });
    const reasons = trail.json.items.map((e: { reason: string }) => e.reason);
    for (const r of ["looking", "apply plan", "false alarm", "done"]) expect(reasons).toContain(r);
  });
});

describe("audit through the console", () => {
  it("verifies each tenant's chain; exports JSONL and CSV that verify offline; the export is audited", async () => {
    for (const tenant of [undefined, A, B]) {
      const v = await t.call("GET", ops("/audit/verify"), tenant ? { tenant, role: "viewer" } : { role: "viewer" });
      expect(v.json).toMatchObject({ ok: true, tenantId: tenant ?? null });
    }
    const jsonl = await t.call("GET", ops("/audit/export?format=jsonl&reason=review"), { tenant: A, actor: "auditor_1" });
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get("content-disposition")).toContain(`audit-${A}-`);
    expect((await verifyExport(Readable.from([jsonl.text]))).ok).toBe(true);
    const csv = await t.call("GET", ops("/audit/export?format=csv&reason=review"), { tenant: A });
    expect((await verifyExport(Readable.from([csv.text]), { format: "csv" })).ok).toBe(true);
    const audited = await t.call("GET", ops("/audit?action=AUDIT_EXPORT"), { tenant: A });
    expect(audited.json.items.map((e: { actor: { id: string } }) => e.actor.id)).toContain("auditor_1");
    expect((await t.call("GET", ops("/audit/export?format=jsonl&reason=x"), { tenant: A, role: "operator" })).status).toBe(403);
  });
});

/** Streams `total` bytes until the answer arrives; returns its status and how much was sent. */
function streamBig(path: string, total: number, headers: Record<string, string>): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, t.base);
    let sent = 0;
    let done = false;
    const req = httpRequest(
      { host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-type": "application/json", ...headers } },
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

describe("request bodies are limited while they stream", () => {
  it("a 200 MB body gets 413 long before it is all sent (app route and console)", async () => {
    const gw = { "x-ops-actor": "app", "x-ops-roles": "admin", "x-ops-scope": "global" };
    const before = process.memoryUsage().rss;
    const app = await streamBig("/api/signals", 200 * 1024 * 1024, gw);
    expect(app.status).toBe(413);
    expect(app.sent).toBeLessThan(50 * 1024 * 1024);
    const con = await streamBig(ops("/silences"), 200 * 1024 * 1024, gw);
    expect(con.status).toBe(413);
    expect(con.sent).toBeLessThan(50 * 1024 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
    expect((await t.call("GET", "/readyz", { anonymous: true })).json.status).toBe("pass");
  });
});

describe("the seed route's body limit holds for a chunked body", () => {
  it("POST /api/ops/auth with a 200 MB chunked body (no content-length) gets 413 long before it is all sent", async () => {
    const gw = { "x-ops-actor": "app", "x-ops-roles": "admin", "x-tenant-id": A };
    const before = process.memoryUsage().rss;
    const seed = await streamBig("/api/ops/auth", 200 * 1024 * 1024, gw);
    expect(seed.status).toBe(413);
    expect(seed.sent).toBeLessThan(50 * 1024 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
    // A normal body still works.
    const ok = await t.call("POST", "/api/ops/auth", {
      tenant: A,
      role: "",
      body: { metrics: { failed_logins_1h: 1, login_attempts_1h: 100 } },
    });
    expect(ok.status).toBe(200);
  });
});

describe("robustness", () => {
  it("never answers 5xx to garbage input", async () => {
    const bodies = [
      "null",
      "[]",
      "42",
      '"x"',
      '{"value":{"deep":[1,2,{"x":null}]},"reason":"r"}',
      `{"reason":"${"a".repeat(5000)}"}`,
      '{"events":null}',
      "\u0000",
    ];
    const targets: Array<[string, string]> = [
      ["PUT", ops("/flags/g.x/value")],
      ["PUT", ops("/flags/g.x/enabled")],
      ["PUT", ops(`/flags/g.x/overrides/${A}`)],
      ["POST", ops("/flags/g.x/evaluate")],
      ["POST", "/api/signals"],
      ["POST", "/api/ops/auth"],
      ["POST", ops("/incidents/inc_x/acknowledge")],
      ["POST", ops("/incidents/inc_x/rollback")],
      ["POST", ops("/silences")],
    ];
    for (const [method, path] of targets)
      for (const raw of bodies)
        for (const tenant of [undefined, A]) {
          const r = await t.call(method, path, { raw, ...(tenant ? { tenant } : {}) });
          expect(r.status, `${method} ${path} ${raw.slice(0, 40)}`).toBeLessThan(500);
        }
    for (const q of ["limit=abc", "cursor=%00", "order=sideways", "from=2026-13-45", "outcome=meh", "tenant=%20"]) {
      expect((await t.call("GET", ops(`/audit?${q}`))).status).toBeLessThan(500);
      expect((await t.call("GET", ops(`/incidents?${q}`))).status).toBeLessThan(500);
      expect((await t.call("GET", `/api/signals?${q}`)).status).toBeLessThan(500);
    }
    expect((await t.call("GET", "/readyz")).json.status).toBe("pass");
  });

  it("the runtime raises an incident from signals and notifies through the log channel", async () => {
    const events = Array.from({ length: 12 }, () => ({ type: "LOGIN_FAILED", userId: "carol", ip: "203.0.113.9" }));
    expect((await t.call("POST", "/api/signals", { tenant: "tenant_c", role: "", body: { events } })).status).toBe(202);
    await eventually("an incident for tenant_c", async () => {
      await t.call("POST", ops("/runtime/tick"), { body: { reason: "test tick" } });
      return (await t.call("GET", ops("/incidents"), { tenant: "tenant_c" })).json.items[0];
    });
    await eventually("a notification line", async () => t.notifications[0]);
  });

  it("logged no unexpected problem", () => {
    expect(t.problems).toEqual([]);
  });
});
