import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyExport } from "@ops/audit";
import { eventually, startTestService, type TestService } from "./support.js";

// One service (PGlite in a temp dir, mitigation "suggest", ticks driven by the tests) for the file.
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t?.close();
});

const A = "tenant_a";
const B = "tenant_b";
const admin = { actor: "admin_1", reason: "test" };

describe("health", () => {
  it("serves liveness, readiness, health+json and Prometheus metrics", async () => {
    const live = await t.call("GET", "/livez");
    expect(live.status).toBe(200);
    expect(live.headers.get("content-type")).toContain("application/health+json");
    const ready = await t.call("GET", "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.json.status).toBe("pass");
    expect((await t.call("GET", "/health")).status).toBe(200);
    const metrics = await t.call("GET", "/metrics");
    expect(metrics.text).toContain('ops_health_status{probe="readiness",status="pass"} 1');
  });

  it("answers unknown routes with a JSON 404", async () => {
    const r = await t.call("GET", "/api/nope");
    expect(r.status).toBe(404);
    expect(r.json.error).toBe("not_found");
  });
});

describe("flags admin API", () => {
  it("sets a global value, audits it, lists and reads it", async () => {
    const set = await t.call("PUT", "/api/flags/checkout.v2", { body: { value: false, ...admin } });
    expect(set.status).toBe(200);
    expect(set.json.flag).toMatchObject({ key: "checkout.v2", type: "boolean", value: false, version: 1, updatedBy: "admin_1" });
    const list = await t.call("GET", "/api/flags");
    expect(list.json.flags.map((f: { key: string }) => f.key)).toContain("checkout.v2");
    const one = await t.call("GET", "/api/flags/checkout.v2");
    expect(one.json.flag.effective).toMatchObject({ value: false, reason: "STATIC" });
    const audit = await t.call("GET", "/api/audit?action=FLAG_CHANGE&targetId=checkout.v2");
    expect(audit.json.entries).toHaveLength(1);
    expect(audit.json.entries[0]).toMatchObject({ actor: { id: "admin_1" }, reason: "test", meta: { operation: "set", after: { value: false } } });
  });

  it("keeps tenant overrides per tenant: A's override is invisible to B", async () => {
    await t.call("PUT", "/api/flags/beta.banner", { body: { value: false, ...admin } });
    const o = await t.call("PUT", "/api/flags/beta.banner/override", { tenant: A, body: { value: true, actor: "a_admin", reason: "early access" } });
    expect(o.status).toBe(200);
    expect(o.json.flag.override).toMatchObject({ tenantId: A, value: true });
    const evalA = await t.call("GET", "/api/flags/beta.banner/evaluate?userId=u1", { tenant: A });
    expect(evalA.json).toMatchObject({ value: true, reason: "TENANT_OVERRIDE" });
    const evalB = await t.call("GET", "/api/flags/beta.banner/evaluate?userId=u1", { tenant: B });
    expect(evalB.json).toMatchObject({ value: false, reason: "STATIC" });
    // A tenant cannot name another tenant in the evaluation context.
    const forged = await t.call("GET", `/api/flags/beta.banner/evaluate?tenantId=${A}`, { tenant: B });
    expect(forged.json.value).toBe(false);
    const listB = await t.call("GET", "/api/flags", { tenant: B });
    expect(listB.json.flags.find((f: { key: string }) => f.key === "beta.banner").override).toBeNull();
    const bulkB = await t.call("POST", "/api/flags/evaluate", { tenant: B, body: { keys: ["beta.banner"], context: { tenantId: A } } });
    expect(bulkB.json.results["beta.banner"].value).toBe(false);
    // The override change is in A's audit chain, not B's and not the global one.
    const auditA = await t.call("GET", "/api/audit?targetId=beta.banner", { tenant: A });
    expect(auditA.json.entries.map((e: { actor: { id: string } }) => e.actor.id)).toEqual(["a_admin"]);
    expect((await t.call("GET", "/api/audit?targetId=beta.banner", { tenant: B })).json.entries).toEqual([]);
    const cleared = await t.call("DELETE", "/api/flags/beta.banner/override", { tenant: A, body: { actor: "a_admin", reason: "done" } });
    expect(cleared.status).toBe(200);
    expect((await t.call("GET", "/api/flags/beta.banner/evaluate", { tenant: A })).json.reason).toBe("STATIC");
  });

  it("kill switch serves the off value to everyone, overrides included", async () => {
    await t.call("PUT", "/api/flags/search.v3", { body: { value: true, ...admin } });
    await t.call("PUT", "/api/flags/search.v3/override", { tenant: A, body: { value: true, actor: "a_admin", reason: "x" } });
    const off = await t.call("PUT", "/api/flags/search.v3/enabled", { body: { enabled: false, actor: "admin_1", reason: "incident 42" } });
    expect(off.status).toBe(200);
    expect(off.json.flag.enabled).toBe(false);
    expect((await t.call("GET", "/api/flags/search.v3/evaluate", { tenant: A })).json).toMatchObject({ value: false, reason: "DISABLED" });
    const bulk = await t.call("POST", "/api/flags/evaluate", { body: { keys: ["search.v3"] } });
    expect(bulk.json.results["search.v3"]).toMatchObject({ value: false, reason: "DISABLED" });
    const on = await t.call("PUT", "/api/flags/search.v3/enabled", { body: { enabled: true, actor: "admin_1", reason: "fixed" } });
    expect(on.json.flag.enabled).toBe(true);
    const audit = await t.call("GET", "/api/audit?targetId=search.v3&action=FLAG_CHANGE");
    expect(audit.json.entries.map((e: { meta: { operation: string } }) => e.meta.operation)).toEqual(["set", "disable", "enable"]);
  });

  it("refuses global writes from a tenant and overrides without one", async () => {
    const r = await t.call("PUT", "/api/flags/x.global", { tenant: A, body: { value: true, ...admin } });
    expect(r.status).toBe(403);
    expect(r.json.error).toBe("global_scope_required");
    const k = await t.call("PUT", "/api/flags/x.global/enabled", { tenant: A, body: { enabled: false, ...admin } });
    expect(k.status).toBe(403);
    const o = await t.call("PUT", "/api/flags/x.global/override", { body: { value: true, ...admin } });
    expect(o.status).toBe(400);
    expect(o.json.issues).toEqual([{ path: "x-tenant-id", message: "expected a tenant id header" }]);
    expect((await t.call("GET", "/api/flags/x.global")).status).toBe(404);
  });

  it("answers 400 with field errors for bad bodies and changes nothing", async () => {
    const missing = await t.call("PUT", "/api/flags/f.bad", { body: { value: true } });
    expect(missing.status).toBe(400);
    expect(missing.json.issues.map((i: { path: string }) => i.path).sort()).toEqual(["actor", "reason"]);
    const badJson = await t.call("PUT", "/api/flags/f.bad", { raw: "{not json" });
    expect(badJson.status).toBe(400);
    expect(badJson.json.issues[0].path).toBe("(body)");
    const unknownField = await t.call("PUT", "/api/flags/f.bad", { body: { value: true, ...admin, color: "red" } });
    expect(unknownField.status).toBe(400);
    await t.call("PUT", "/api/flags/f.typed", { body: { value: true, ...admin } });
    const wrongType = await t.call("PUT", "/api/flags/f.typed", { body: { value: "yes", ...admin } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.issues).toEqual([{ path: "newValue", message: "expected a boolean" }]);
    const badEnabled = await t.call("PUT", "/api/flags/f.typed/enabled", { body: { enabled: "no", ...admin } });
    expect(badEnabled.json.issues[0].path).toBe("enabled");
    const badEval = await t.call("POST", "/api/flags/evaluate", { body: { keys: ["bad key!"] } });
    expect(badEval.status).toBe(400);
    expect(badEval.json.issues[0].path).toBe("keys[0]");
    const wrongMedia = await t.call("PUT", "/api/flags/f.typed", { raw: "value=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(wrongMedia.status).toBe(415);
    expect((await t.call("GET", "/api/flags/f.bad")).status).toBe(404);
    expect((await t.call("GET", "/api/flags/f.typed")).json.flag).toMatchObject({ value: true, version: 1 });
  });

  it("refuses a malformed tenant id", async () => {
    const r = await t.call("GET", "/api/flags", { tenant: "bad tenant!" });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: "tenant_invalid", issues: [{ path: "x-tenant-id" }] });
  });
});

describe("signals, the seed route and incidents", () => {
  it("ingests auth signals for the caller's tenant only", async () => {
    const one = await t.call("POST", "/api/signals", { tenant: A, body: { type: "LOGIN_FAILED", userId: "u1", ip: "192.0.2.1" } });
    expect(one.status).toBe(202);
    const batch = await t.call("POST", "/api/signals", {
      tenant: A,
      body: { events: [{ type: "LOGIN_SUCCEEDED", userId: "u2" }, { type: "PASSWORD_RESET_FAILED", userId: "u3", meta: { step: "token" } }] },
    });
    expect(batch.json.accepted).toBe(2);
    const listed = await eventually("stored signals", async () => {
      const r = await t.call("GET", "/api/signals", { tenant: A });
      return r.json.signals.length >= 3 && r.json.signals;
    });
    expect(listed.map((s: { type: string }) => s.type).sort()).toEqual(["LOGIN_FAILED", "LOGIN_SUCCEEDED", "PASSWORD_RESET_FAILED"]);
    const filtered = await t.call("GET", "/api/signals?type=LOGIN_FAILED", { tenant: A });
    expect(filtered.json.signals).toHaveLength(1);
    expect((await t.call("GET", "/api/signals", { tenant: B })).json.signals).toEqual([]);
  });

  it("answers 400 naming the field for bad signals", async () => {
    const bad = await t.call("POST", "/api/signals", { tenant: A, body: { type: "login failed" } });
    expect(bad.status).toBe(400);
    expect(bad.json.issues[0].path).toBe("type");
    const badBatch = await t.call("POST", "/api/signals", { tenant: A, body: { events: [{ type: "LOGIN_FAILED" }, { type: "LOGIN_FAILED", ip: 12 }] } });
    expect(badBatch.json.issues[0].path).toBe("events[1].ip");
    const other = await t.call("POST", "/api/signals", { tenant: A, body: { type: "LOGIN_FAILED", tenantId: B } });
    expect(other.status).toBe(400);
    expect(other.json.issues).toEqual([{ path: "tenantId", message: "expected the caller's own tenant (or omit it)" }]);
    const empty = await t.call("POST", "/api/signals", { tenant: A, body: { events: [] } });
    expect(empty.json.issues[0].path).toBe("events");
    const badQuery = await t.call("GET", "/api/signals?from=yesterday", { tenant: A });
    expect(badQuery.status).toBe(400);
    expect(badQuery.json.issues[0].path).toBe("from");
  });

  let incidentId = "";

  it("the seed's POST /api/ops/auth returns incidents with plans and raises them for the caller's tenant", async () => {
    const r = await t.call("POST", "/api/ops/auth", { tenant: A, body: { metrics: { failed_logins_1h: 150 }, context: { tenantId: B } } });
    expect(r.status).toBe(200);
    expect(r.json.ok).toBe(true);
    const first = r.json.incidents[0];
    expect(first.event).toMatchObject({ incident_type: "FAILED_LOGINS_SPIKE", tenant_id: A });
    expect(first.response.decision).toBe("Contain likely brute force and protect legitimate users.");
    expect(first.response.recommended_flags.length).toBeGreaterThan(0);
    const list = await t.call("GET", "/api/incidents", { tenant: A });
    const inc = list.json.incidents.find((i: { type: string }) => i.type === "FAILED_LOGINS_SPIKE");
    expect(inc).toMatchObject({ tenantId: A, state: "open", mitigation: { status: "suggested" } });
    incidentId = inc.id;
    const bad = await t.call("POST", "/api/ops/auth", { tenant: A, body: { metrics: { failed_logins_1h: -3 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.issues[0].path).toBe("metrics.failed_logins_1h");
  });

  it("tenant B can neither see nor act on A's incident", async () => {
    expect((await t.call("GET", "/api/incidents", { tenant: B })).json.incidents).toEqual([]);
    expect((await t.call("GET", `/api/incidents/${incidentId}`, { tenant: B })).status).toBe(404);
    expect((await t.call("GET", `/api/incidents/${incidentId}`)).status).toBe(404);
    const ack = await t.call("POST", `/api/incidents/${incidentId}/acknowledge`, { tenant: B, body: { actor: "b_admin" } });
    expect(ack.status).toBe(404);
    const audit = await t.call("GET", `/api/audit?targetId=${incidentId}`, { tenant: B });
    expect(audit.json.entries).toEqual([]);
  });

  it("acknowledge, mitigate (apply a suggestion), roll back and resolve", async () => {
    const detail = await t.call("GET", `/api/incidents/${incidentId}`, { tenant: A });
    expect(detail.json.incident.response.rollback_plan.length).toBeGreaterThan(0);
    const ack = await t.call("POST", `/api/incidents/${incidentId}/acknowledge`, { tenant: A, body: { actor: "a_oncall", reason: "looking" } });
    expect(ack.status).toBe(200);
    expect(ack.json.incident.state).toBe("acknowledged");
    const again = await t.call("POST", `/api/incidents/${incidentId}/acknowledge`, { tenant: A, body: { actor: "a_oncall" } });
    expect(again.status).toBe(409);
    const m = await t.call("POST", `/api/incidents/${incidentId}/mitigate`, { tenant: A, body: { actor: "a_oncall" } });
    expect(m.status).toBe(200);
    expect(m.json.mitigation.status).toBe("applied");
    const keys: string[] = m.json.mitigation.applied.map((a: { key: string }) => a.key);
    // Tenant-scoped recommendations become A's overrides: B is untouched.
    for (const key of keys) {
      expect((await t.call("GET", `/api/flags/${key}/evaluate`, { tenant: A })).json).toMatchObject({ value: true, reason: "TENANT_OVERRIDE" });
      expect((await t.call("GET", `/api/flags/${key}/evaluate`, { tenant: B })).json.value).not.toBe(true);
    }
    const rb = await t.call("POST", `/api/incidents/${incidentId}/rollback`, { tenant: A, body: { actor: "a_oncall" } });
    expect(rb.status).toBe(200);
    expect(rb.json.restored.map((x: { key: string }) => x.key).sort()).toEqual([...keys].sort());
    expect(rb.json.restored.every((x: { cleared: boolean }) => x.cleared)).toBe(true);
    for (const key of keys) expect((await t.call("GET", `/api/flags/${key}/evaluate`, { tenant: A })).json.reason).not.toBe("TENANT_OVERRIDE");
    const twice = await t.call("POST", `/api/incidents/${incidentId}/rollback`, { tenant: A, body: { actor: "a_oncall" } });
    expect(twice.status).toBe(409);
    const res = await t.call("POST", `/api/incidents/${incidentId}/resolve`, { tenant: A, body: { actor: "a_oncall", reason: "done" } });
    expect(res.json.incident.state).toBe("resolved");
    const resolved = await t.call("GET", "/api/incidents?state=resolved", { tenant: A });
    expect(resolved.json.incidents.map((i: { id: string }) => i.id)).toContain(incidentId);
    const actions = (await t.call("GET", `/api/audit?targetId=${incidentId}&order=asc`, { tenant: A })).json.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(["INCIDENT_OPENED", "INCIDENT_ACKNOWLEDGED", "INCIDENT_MITIGATED", "INCIDENT_ROLLED_BACK", "INCIDENT_RESOLVED"]);
  });

  it("answers 400/404 for bad incident requests", async () => {
    expect((await t.call("GET", "/api/incidents?state=open,closed", { tenant: A })).json.issues[0].path).toBe("state[1]");
    expect((await t.call("GET", "/api/incidents?limit=0", { tenant: A })).json.issues[0].path).toBe("limit");
    expect((await t.call("GET", "/api/incidents/inc_missing", { tenant: A })).status).toBe(404);
    const noActor = await t.call("POST", `/api/incidents/${incidentId}/resolve`, { tenant: A, body: {} });
    expect(noActor.status).toBe(400);
    expect(noActor.json.issues[0].path).toBe("actor");
    expect((await t.call("POST", "/api/ops/tick", { tenant: A })).status).toBe(403);
  });

  it("the runtime raises an incident from signals, and notifies through the log channel", async () => {
    const events = Array.from({ length: 11 }, () => ({ type: "LOGIN_FAILED", userId: "victim", ip: "198.51.100.9" }));
    expect((await t.call("POST", "/api/signals", { tenant: B, body: { events } })).status).toBe(202);
    const raised = await eventually("a detected incident for B", async () => {
      await t.call("POST", "/api/ops/tick");
      const r = await t.call("GET", "/api/incidents?type=FAILED_LOGINS_SPIKE", { tenant: B });
      return r.json.incidents[0];
    });
    expect(raised).toMatchObject({ tenantId: B, state: "open", mitigation: { status: "suggested" } });
    const detail = await t.call("GET", `/api/incidents/${raised.id}`, { tenant: B });
    expect(detail.json.incident.event.metrics_snapshot).toMatchObject({ rule: "failed-logins", identity_threshold_crossings: 1 });
    await eventually("a delivered notification for B", async () => {
      await t.call("POST", "/api/ops/tick");
      const r = await t.call("GET", "/api/notifications?status=delivered", { tenant: B });
      return r.json.notifications.length > 0;
    });
    expect(t.notifications.some((l) => l.includes(raised.id))).toBe(true);
    expect((await t.call("GET", "/api/notifications?status=bogus", { tenant: B })).status).toBe(400);
    // A's notifications never list B's.
    const a = await t.call("GET", "/api/notifications", { tenant: A });
    expect(a.json.notifications.every((n: { tenantId: string }) => n.tenantId === A)).toBe(true);
  });
});

describe("audit query, export and verify", () => {
  it("verifies each tenant's chain", async () => {
    for (const tenant of [undefined, A, B]) {
      const v = await t.call("GET", "/api/audit/verify", tenant ? { tenant } : {});
      expect(v.json.verify).toMatchObject({ ok: true, problem: null, tenantId: tenant ?? null });
      expect(v.json.verify.checked).toBeGreaterThan(0);
    }
  });

  it("exports JSONL and CSV streams that verify offline, and audits the export", async () => {
    const jsonl = await t.call("GET", "/api/audit/export?format=jsonl&actor=auditor_1", { tenant: A });
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get("content-type")).toContain("application/x-ndjson");
    expect(jsonl.headers.get("content-disposition")).toContain(`audit-${A}-`);
    const lines = jsonl.text.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: "header", tenantId: A, chain: true });
    expect(lines.at(-1).type).toBe("end");
    expect((await verifyExport(Readable.from([jsonl.text]))).ok).toBe(true);
    const csv = await t.call("GET", "/api/audit/export?format=csv", { tenant: A });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    expect((await verifyExport(Readable.from([csv.text]), { format: "csv" })).ok).toBe(true);
    const audited = await t.call("GET", "/api/audit?action=AUDIT_EXPORT", { tenant: A });
    expect(audited.json.entries.map((e: { actor: { id: string } }) => e.actor.id)).toContain("auditor_1");
    // B's export holds none of A's entries.
    const b = await t.call("GET", "/api/audit/export", { tenant: B });
    expect(b.text).not.toContain(A);
  });

  it("pages a query with a cursor", async () => {
    const first = await t.call("GET", "/api/audit?limit=2&order=asc");
    expect(first.json.entries).toHaveLength(2);
    const second = await t.call("GET", `/api/audit?limit=2&order=asc&cursor=${encodeURIComponent(first.json.nextCursor)}`);
    expect(second.json.entries[0].seq).toBe(first.json.entries[1].seq + 1);
  });

  it("answers 400 naming the filter", async () => {
    const r = await t.call("GET", "/api/audit?action=not-an-action");
    expect(r.status).toBe(400);
    expect(r.json.issues[0].path).toBe("action");
    const e = await t.call("GET", "/api/audit/export?format=xml");
    expect(e.status).toBe(400);
    expect(e.json.issues[0].path).toBe("format");
    const f = await t.call("GET", "/api/audit/export?from=monday");
    expect(f.status).toBe(400);
    expect(f.json.issues[0].path).toBe("from");
  });

  it("never answers 5xx to garbage input", async () => {
    const bodies = ["null", "[]", "42", '"x"', '{"value":{"deep":[1,2,{"x":null}]},"actor":"a","reason":"r"}', `{"actor":"${"a".repeat(5000)}"}`, "{\"events\":null}", "\u0000"];
    const targets: Array<[string, string]> = [
      ["PUT", "/api/flags/g.x"],
      ["PUT", "/api/flags/g.x/enabled"],
      ["PUT", "/api/flags/g.x/override"],
      ["DELETE", "/api/flags/g.x/override"],
      ["POST", "/api/flags/evaluate"],
      ["POST", "/api/signals"],
      ["POST", "/api/ops/auth"],
      ["POST", "/api/incidents/inc_x/acknowledge"],
      ["POST", "/api/incidents/inc_x/rollback"],
    ];
    for (const [method, path] of targets)
      for (const raw of bodies)
        for (const tenant of [undefined, A]) {
          const r = await t.call(method, path, { raw, ...(tenant ? { tenant } : {}) });
          expect(r.status, `${method} ${path} ${raw.slice(0, 40)}`).toBeLessThan(500);
        }
    for (const q of ["limit=abc", "cursor=%00", "order=sideways", "from=2026-13-45", "outcome=meh", "actions=A"]) {
      expect((await t.call("GET", `/api/audit?${q}`)).status).toBeLessThan(500);
      expect((await t.call("GET", `/api/incidents?${q}`)).status).toBeLessThan(500);
      expect((await t.call("GET", `/api/signals?${q}`)).status).toBeLessThan(500);
    }
    expect((await t.call("GET", "/readyz")).json.status).toBe("pass");
  });

  it("logged no unexpected problem", () => {
    expect(t.problems).toEqual([]);
  });
});
