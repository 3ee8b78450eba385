import { afterEach, describe, expect, it, vi } from "vitest";
import { ValidationError } from "@ops/core";
import { createConsole, CSRF_HEADER, inRequestTerms, requestPath } from "../src/index.js";
import { FLAG, ORIGIN, T1, T2, fixture } from "./fixture.js";

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});
async function setup(...args: Parameters<typeof fixture>) {
  const f = await fixture(...args);
  open.push(f);
  return f;
}

describe("createConsole", () => {
  it("throws without authorize", () => {
    expect(() => createConsole({} as never)).toThrow(/authorize is required/);
  });

  it("dangerouslyAllowAnonymous logs a warning at every start and serves as a global admin", async () => {
    const warn = vi.fn();
    const f = await setup();
    const make = () =>
      createConsole({
        dangerouslyAllowAnonymous: true,
        basePath: "/ops",
        logger: { warn, error: () => {} },
        flags: { controller: f.flags, store: f.stores.flags },
      });
    make();
    const c = make();
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]![0]).toBe("console_anonymous_access");
    const res = await c.fetch(new Request(`${ORIGIN}/ops/api/v1/session`));
    expect(((await res.json()) as { principal: { actorId: string; tenantId: null } }).principal).toMatchObject({
      actorId: "anonymous",
      tenantId: null,
    });
  });

  it("treats a malformed principal (blank tenant, no actor) as none: 401", async () => {
    const f = await setup({
      authorize: (req) =>
        req.headers.get("x-bad") === "tenant"
          ? { actorId: "a", roles: ["admin"], tenantId: "" }
          : ({ roles: ["admin"], tenantId: null } as never),
    });
    expect((await f.call(null, "GET", "/ops/api/v1/flags", undefined, { "x-bad": "tenant" })).status).toBe(401);
    expect((await f.call(null, "GET", "/ops/api/v1/flags")).status).toBe(401);
  });

  it("a custom role map grants exactly its permissions", async () => {
    const f = await setup({ roles: { auditor: ["read", "export"] } });
    f.principals.set("auditor", { actorId: "aud", roles: ["auditor"], tenantId: null });
    expect((await f.call("auditor", "GET", "/ops/api/v1/audit/export?reason=yearly")).status).toBe(200);
    expect((await f.call("auditor", "POST", `/ops/api/v1/runtime/tick`, { reason: "x" })).status).toBe(403);
    expect(() => createConsole({ authorize: () => null, roles: { bad: ["fly" as never] } })).toThrow(/unknown permission "fly"/);
  });
});

describe("changes are audited with the principal and the reason", () => {
  it("a flag change, a resend and a silence name the actor and the reason; a missing reason is a 400 naming the field", async () => {
    const f = await setup();
    const missing = await f.call("global:admin", "PUT", `/ops/api/v1/flags/${FLAG}/value`, { value: true });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { code: "VALIDATION", issues: [{ path: "reason" }] } });
    expect((await f.call("global:admin", "PUT", `/ops/api/v1/flags/${FLAG}/value`, { value: true, reason: "launch day" })).status).toBe(
      200,
    );
    expect(f.flags.evaluate(FLAG, {}).value).toBe(true);
    expect((await f.call("tenant:operator", "POST", `/ops/api/v1/outbox/${f.ids.deadT}/resend`, { reason: "webhook fixed" })).status).toBe(
      201,
    );
    await f.audit.flush();
    const global = await f.audit.query({ tenantId: null, targetId: FLAG, order: "desc", limit: 1 });
    expect(global.items[0]).toMatchObject({ action: "FLAG_CHANGE", actor: { id: "global-admin@example.test" }, reason: "launch day" });
    const tenant = await f.audit.query({ tenantId: T1, actorId: "tenant-operator@example.test", limit: 10 });
    expect(tenant.items.map((e) => e.reason)).toContain("webhook fixed");
  });

  it("cancelling a pending notification stops it, audits the reason, never copies it onto the message; a missing reason is a 400 that changes nothing", async () => {
    const f = await setup();
    const path = `/ops/api/v1/outbox/${f.ids.pendT}/cancel`;
    const missing = await f.call("tenant:operator", "POST", path, {});
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { code: "VALIDATION", issues: [{ path: "reason" }] } });
    expect(await f.raw.outbox.get({ id: f.ids.pendT })).toMatchObject({ status: "pending" });
    const res = await f.call("tenant:operator", "POST", path, { reason: "customer asked us to stop, ticket 4711" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: f.ids.pendT, status: "cancelled" });
    expect(body).not.toHaveProperty("leaseOwner");
    const stored = await f.raw.outbox.get({ id: f.ids.pendT });
    expect(stored).toMatchObject({ status: "cancelled", finishedAt: expect.any(String) });
    expect(stored!.lastError).not.toContain("4711");
    // A worker that comes along later gets nothing to send.
    const claimed = await f.raw.outbox.claim({
      workerId: "w",
      limit: 10,
      leaseMs: 1000,
      now: new Date(Date.now() + 7_200_000).toISOString(),
    });
    expect(claimed.map((m) => m.id)).toEqual([f.ids.pendG]); // the global one, still pending
    // Cancelling again is a conflict; the cancelled message can be resent.
    expect((await f.call("tenant:operator", "POST", path, { reason: "again" })).status).toBe(409);
    expect((await f.call("tenant:operator", "POST", `/ops/api/v1/outbox/${f.ids.pendT}/resend`, { reason: "after all" })).status).toBe(201);
    await f.audit.flush();
    const trail = await f.audit.query({ tenantId: T1, targetId: f.ids.pendT, limit: 20 });
    const mine = trail.items.filter(
      (e) => e.actor.id === "tenant-operator@example.test" && e.reason === "customer asked us to stop, ticket 4711",
    );
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(trail.items.map((e) => e.action)).toContain("NOTIFICATION_CANCELLED");
  });

  it("a tenant operator's mitigation applies its tenant flags and leaves the global flag alone", async () => {
    const f = await setup();
    const res = await f.call("tenant:admin", "POST", `/ops/api/v1/incidents/${f.ids.incLeakT}/mitigate`, { reason: "contain" });
    expect(res.status).toBe(200);
    expect(await f.flags.getValue({ key: "tenancy.strict_guard", tenantId: null })).toBeUndefined();
    expect(await f.flags.getValue({ key: "tenancy.quarantine", tenantId: T1 })).toBe(true);
    // The global operator applies the global suggestion with one click.
    const one = await f.call("global:admin", "POST", `/ops/api/v1/incidents/${f.ids.incLeakT}/apply-suggestion?tenant=${T1}`, {
      key: "tenancy.strict_guard",
      reason: "agreed",
    });
    expect(one.status).toBe(200);
    expect(await f.flags.getValue({ key: "tenancy.strict_guard", tenantId: null })).toBe(true);
  });
});

describe("tenant principals and global flag definitions", () => {
  it("a tenant principal does not see targeting rules that name other tenants or their users", async () => {
    const f = await setup();
    const rules = [
      {
        id: "vip",
        when: [
          { attr: "tenantId", op: "in", values: [T2, "globex-secret"] },
          { attr: "userId", op: "eq", value: "ceo@globex.example" },
        ],
        serve: { value: true },
      },
    ];
    await f.flags.setRules({ key: FLAG, rules: rules as never, actorUserId: "seed", reason: "seed" });
    await f.flags.scheduleChange({
      key: FLAG,
      at: new Date(Date.now() + 86_400_000).toISOString(),
      patch: { rules } as never,
      actorUserId: "seed",
      reason: "seed",
    });
    for (const who of ["tenant:viewer", "tenant:admin"]) {
      const res = await f.call(who, "GET", `/ops/api/v1/flags/${FLAG}`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toMatch(/globex|"t2"/);
      expect(JSON.parse(text)).toMatchObject({ rules: 1, config: { rules: [] }, tenantId: T1 });
    }
    const global = await f.call("global:viewer", "GET", `/ops/api/v1/flags/${FLAG}`);
    expect(await global.text()).toMatch(/globex-secret/);
  });
});

describe("unstorable text", () => {
  it("a reason with a NUL or a lone surrogate is a 400 naming reason and changes nothing", async () => {
    const f = await setup();
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const state = async () => {
      await f.audit.flush();
      return JSON.stringify([
        await f.raw.flags.list({ env: "test", tenantId: null, limit: 100, cursor: null }),
        await f.raw.flags.list({ env: "test", tenantId: T1, limit: 100, cursor: null }),
        await f.runtime.silences.list(),
        (await f.audit.query({ tenantId: null, limit: 100 })).items.length,
        (await f.audit.query({ tenantId: T1, limit: 100 })).items.length,
      ]);
    };
    const before = await state();
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ["PUT", `/ops/api/v1/flags/${FLAG}/value`, { value: true }],
      ["PUT", `/ops/api/v1/flags/${FLAG}/enabled`, { enabled: false }],
      ["POST", `/ops/api/v1/flags/${FLAG}/schedule`, { at: later, patch: { value: true } }],
      ["DELETE", `/ops/api/v1/flags/${FLAG}/schedule/${f.ids.scheduleId}`, {}],
      ["PUT", `/ops/api/v1/flags/${FLAG}/overrides/${T1}`, { value: false }],
      ["POST", "/ops/api/v1/silences", { matcher: { tenantIds: [T1] }, endsAt: later }],
      ["DELETE", `/ops/api/v1/silences/${f.ids.silT}`, {}],
    ];
    for (const reason of ["bad\u0000reason", "bad\ud800reason", "bad\udc00"])
      for (const [method, path, body] of cases) {
        const res = await f.call("global:admin", method, path, { ...body, reason });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: "VALIDATION", issues: [{ path: "reason" }] } });
      }
    expect(await state()).toBe(before);
    // A well-formed pair (an emoji) is fine.
    expect(
      (await f.call("global:admin", "PUT", `/ops/api/v1/flags/${FLAG}/enabled`, { enabled: true, reason: "ok \ud83d\ude80" })).status,
    ).toBe(200);
  });

  it("a library's refusal names the request's field (value, tenant, id, patch.value), without [ops/...] or the library's names, and changes nothing", async () => {
    const f = await setup();
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const state = async () => {
      await f.audit.flush();
      return JSON.stringify([
        await f.raw.flags.list({ env: "test", tenantId: null, limit: 100, cursor: null }),
        await f.raw.flags.list({ env: "test", tenantId: T1, limit: 100, cursor: null }),
        (await f.audit.query({ tenantId: null, limit: 100 })).items.length,
        (await f.audit.query({ tenantId: T1, limit: 100 })).items.length,
      ]);
    };
    const before = await state();
    const cases: Array<[string, string, Record<string, unknown>, string]> = [
      // FeatureFlagController names these newValue / tenantId: the request says value / :tenant.
      ["PUT", `/ops/api/v1/flags/${FLAG}/value`, { value: { a: "x\u0000" }, reason: "r" }, "value.a"],
      ["PUT", `/ops/api/v1/flags/${FLAG}/value`, { value: "\ud800", reason: "r" }, "value"],
      ["PUT", `/ops/api/v1/flags/${FLAG}/overrides/${T1}`, { value: "\udc00", reason: "r" }, "value"],
      ["PUT", `/ops/api/v1/flags/${FLAG}/overrides/a%00b`, { value: true, reason: "r" }, "tenant"],
      ["POST", `/ops/api/v1/flags/${FLAG}/schedule`, { at: later, patch: { value: "a\u0000" }, reason: "r" }, "patch.value"],
      ["DELETE", `/ops/api/v1/flags/${FLAG}/schedule/a%00b`, { reason: "r" }, "id"],
      ["POST", `/ops/api/v1/incidents/a%00b/acknowledge`, { reason: "r" }, "id"],
      ["POST", `/ops/api/v1/outbox/a%00b/resend`, { reason: "r" }, "id"],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await f.call("global:admin", method, path, body);
      const text = await res.text();
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(JSON.parse(text), `${method} ${path}`).toMatchObject({ error: { code: "VALIDATION", issues: [{ path: field }] } });
      expect(text, `${method} ${path}`).not.toMatch(/\[ops\/|newValue|tenantId|\(\d{5}/);
    }
    expect(await state()).toBe(before);
  });

  it("requestPath renames a library path by its longest whole-segment prefix; inRequestTerms cleans the texts", () => {
    const names = { newValue: "value", "event.metrics_snapshot": "metrics", event: "body" };
    expect(requestPath("newValue", names)).toBe("value");
    expect(requestPath("newValue.a[2]", names)).toBe("value.a[2]");
    expect(requestPath("newValues", names)).toBe("newValues");
    expect(requestPath("event.metrics_snapshot.note", names)).toBe("metrics.note");
    expect(requestPath("event.tenant_id", names)).toBe("body.tenant_id");
    const err = inRequestTerms(
      new ValidationError("[ops/adapter-drizzle] incidents.get: a value cannot be stored (22021: invalid byte sequence)", [
        { path: "event.metrics_snapshot.k", message: "[ops/core] cannot be stored (SQLSTATE 22021)" },
      ]),
      names,
    ) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues).toEqual([{ path: "metrics.k", message: "cannot be stored" }]);
    expect(err.message).toBe("invalid request: metrics.k: cannot be stored");
    const plain = new Error("x");
    expect(inRequestTerms(plain)).toBe(plain);
  });

  it("an actor id with a lone surrogate is a malformed principal: 401 and nothing changed", async () => {
    const f = await setup();
    f.principals.set("lone", { actorId: "eve\ud800", roles: ["admin"], tenantId: null });
    f.principals.set("lone-low", { actorId: "\udc00eve", roles: ["admin"], tenantId: null });
    const version = (await f.raw.flags.get({ env: "test", key: FLAG, tenantId: null }))!.version;
    for (const who of ["lone", "lone-low"]) {
      const res = await f.call(who, "PUT", `/ops/api/v1/flags/${FLAG}/enabled`, { enabled: false, reason: "kill" });
      expect(res.status).toBe(401);
    }
    expect(f.flags.evaluate(FLAG, {}).reason).not.toBe("DISABLED");
    expect((await f.raw.flags.get({ env: "test", key: FLAG, tenantId: null }))!.version).toBe(version);
  });
});

describe("errors", () => {
  it("answer { error: { code, message, issues } } and never leak internals", async () => {
    const f = await setup();
    const bad = await f.call("global:admin", "GET", "/ops/api/v1/incidents?state=bogus&limit=0");
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; issues: Array<{ path: string }> } };
    expect(body.error.code).toBe("VALIDATION");
    expect(body.error.issues.map((i) => i.path).sort()).toEqual(["limit", "state[0]"].sort());
    f.stores.incidents.list = () => Promise.reject(new Error('relation "ops_incidents" does not exist: SELECT * FROM secret'));
    const boom = await f.call("global:admin", "GET", "/ops/api/v1/incidents");
    expect(boom.status).toBe(500);
    const text = await boom.text();
    expect(text).not.toMatch(/SELECT|relation/);
    expect(JSON.parse(text)).toEqual({ error: { code: "INTERNAL", message: "internal error", issues: [] } });
  });

  it("a store's validation error answers 400 without the adapter's name or a SQLSTATE", async () => {
    const f = await setup();
    const cursor = await f.call("global:admin", "GET", "/ops/api/v1/audit?cursor=forged");
    expect(cursor.status).toBe(400);
    const text = await cursor.text();
    expect(text).not.toMatch(/adapter/);
    expect(JSON.parse(text)).toMatchObject({ error: { code: "VALIDATION", issues: [{ path: "cursor" }] } });
    f.stores.incidents.list = () =>
      Promise.reject(
        new ValidationError(
          "[ops/adapter-postgres] incidents.list a value cannot be stored (22P05: NUL character, invalid text or too long)",
          [],
        ),
      );
    const pg = await f.call("global:admin", "GET", "/ops/api/v1/incidents");
    expect(pg.status).toBe(400);
    const pgText = await pg.text();
    expect(pgText).not.toMatch(/adapter|22P05|incidents\.list/);
    expect(JSON.parse(pgText)).toMatchObject({ error: { code: "VALIDATION" } });
  });

  it("a 200 MB body is refused with 413 while it streams, after reading at most the limit", async () => {
    const f = await setup({ maxBodyBytes: 1024 });
    let pulled = 0;
    const chunk = new Uint8Array(64 * 1024).fill(32);
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (pulled >= 200 * 1024 * 1024) return ctrl.close();
        pulled += chunk.byteLength;
        ctrl.enqueue(chunk);
      },
    });
    const res = await f.console.fetch(
      new Request(`${ORIGIN}/ops/api/v1/flags/${FLAG}/value`, {
        method: "PUT",
        headers: { "x-test-principal": "global:admin", "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit),
    );
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThan(1024 * 1024);
    const declared = await f.call("global:admin", "PUT", `/ops/api/v1/flags/${FLAG}/value`, undefined, {
      "content-length": String(200 * 1024 * 1024),
      "content-type": "application/json",
    });
    expect(declared.status).toBe(413);
  });
});

describe("CSRF", () => {
  it("refuses a cross-origin change, and a cookie session without the double-submit token", async () => {
    const f = await setup();
    f.principals.set("cookie", { actorId: "c", roles: ["admin"], tenantId: null, cookieSession: true });
    const path = `/ops/api/v1/flags/${FLAG}/enabled`;
    const body = { enabled: false, reason: "kill" };
    expect((await f.call("global:admin", "PUT", path, body, { origin: "https://evil.example" })).status).toBe(403);
    expect((await f.call("global:admin", "PUT", path, body, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    // Cookie session: same origin but no token -> 403; with the token from /session -> 200.
    expect((await f.call("cookie", "PUT", path, body, { origin: ORIGIN })).status).toBe(403);
    const s = await f.call("cookie", "GET", "/ops/api/v1/session");
    const { csrfToken } = (await s.json()) as { csrfToken: string };
    const cookie = s.headers.get("set-cookie")!.split(";")[0]!;
    expect(s.headers.get("set-cookie")).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await f.call("cookie", "PUT", path, body, { origin: ORIGIN, cookie, [CSRF_HEADER]: "wrong" })).status).toBe(403);
    expect((await f.call("cookie", "PUT", path, body, { cookie, [CSRF_HEADER]: csrfToken })).status).toBe(403); // no browser origin signal
    expect((await f.call("cookie", "PUT", path, body, { origin: ORIGIN, cookie, [CSRF_HEADER]: csrfToken })).status).toBe(200);
    // Refusals changed nothing but the last call.
    await f.audit.flush();
    const changes = await f.audit.query({ tenantId: null, targetId: FLAG, action: "FLAG_CHANGE", limit: 100 });
    expect(changes.items.filter((e) => e.reason === "kill")).toHaveLength(1);
  });
});

describe("paging", () => {
  it("walks the flags list with the store's keyset cursor, complete and without duplicates", async () => {
    const f = await setup();
    for (let i = 0; i < 12; i++)
      await f.flags.setFlag({ key: `page.flag_${String(i).padStart(2, "0")}`, newValue: i, actorUserId: "seed", reason: "seed" });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await f.call("global:viewer", "GET", `/ops/api/v1/flags?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      const p = (await res.json()) as { items: Array<{ key: string }>; nextCursor: string | null };
      seen.push(...p.items.map((x) => x.key));
      cursor = p.nextCursor;
    } while (cursor);
    expect(seen.filter((k) => k.startsWith("page."))).toHaveLength(12);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
