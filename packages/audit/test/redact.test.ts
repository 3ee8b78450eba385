import { describe, expect, it } from "vitest";
import { REDACTED, auditMetaSafe, createRedactor, isSecretKey } from "@ops/audit";

describe("auditMetaSafe", () => {
  it("masks secrets by key, at any depth, in objects and arrays", () => {
    const out = auditMetaSafe({
      user: "u1",
      password: "hunter2",
      nested: { apiKey: "k", "X-API-Key": "k2", Authorization: "whatever", deeper: [{ client_secret: "s", refresh_token: "r", ok: 1 }] },
      headers: { cookie: "sid=1", "set-cookie": ["a=1"], accept: "json" },
      card_number: "4111 1111 1111 1111",
      cvv: "123",
    });
    expect(out).toEqual({
      user: "u1",
      password: REDACTED,
      nested: {
        apiKey: REDACTED,
        "X-API-Key": REDACTED,
        Authorization: REDACTED,
        deeper: [{ client_secret: REDACTED, refresh_token: REDACTED, ok: 1 }],
      },
      headers: { cookie: REDACTED, "set-cookie": REDACTED, accept: "json" },
      card_number: REDACTED,
      cvv: REDACTED,
    });
    expect(isSecretKey("shipping_address")).toBe(false);
    expect(isSecretKey("passwordHash")).toBe(true);
  });

  it("masks secrets by value: JWTs, bearer credentials, provider keys, Luhn-valid cards", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    const out = auditMetaSafe({
      note: `token was ${jwt} yesterday`,
      header: "Bearer abc.def-ghi_jkl",
      basic: "Basic dXNlcjpwYXNzd29yZA==",
      stripe: "sk_live_abcdefghijklmnop1234",
      paid: "card 4111-1111-1111-1111 ok",
      order: "order 1234567890123 shipped",
      list: ["5500 0000 0000 0004", 42],
    });
    expect(out.note).toBe(`token was ${REDACTED} yesterday`);
    expect(out.header).toBe(`Bearer ${REDACTED}`);
    expect(out.basic).toBe(`Basic ${REDACTED}`);
    expect(out.stripe).toBe(REDACTED);
    expect(out.paid).toBe(`card ${REDACTED}:card-1111 ok`);
    // 13 digits that fail Luhn are an order number, not a card.
    expect(out.order).toBe("order 1234567890123 shipped");
    expect(out.list).toEqual([`${REDACTED}:card-0004`, 42]);
  });

  it("masks e-mails only when asked", () => {
    expect(auditMetaSafe({ to: "ann@example.com" })).toEqual({ to: "ann@example.com" });
    expect(auditMetaSafe({ to: "mail ann@example.com now" }, { maskEmails: true })).toEqual({ to: `mail ${REDACTED}:email now` });
  });

  it("allow and deny lists", () => {
    const redact = createRedactor({ allowKeys: ["tokenCount"], denyKeys: ["diagnosis", /^ssn_/] });
    expect(redact({ tokenCount: 12, token: "t", diagnosis: "flu", ssn_last4: "1234", keep: "yes" })).toEqual({
      tokenCount: 12,
      token: REDACTED,
      diagnosis: REDACTED,
      ssn_last4: REDACTED,
      keep: "yes",
    });
    // Allowed keys still have their values scanned.
    expect(createRedactor({ allowKeys: ["authorization"] })({ authorization: "Bearer abcdefghijkl" })).toEqual({
      authorization: `Bearer ${REDACTED}`,
    });
  });

  it("never mutates its input, survives cycles and depth, and makes values JSON-safe", () => {
    const input: Record<string, unknown> = {
      password: "p",
      when: new Date("2026-01-01T00:00:00Z"),
      n: 10n,
      f: () => 1,
      u: undefined,
      inf: Infinity,
      err: new Error("boom Bearer abcdefghijkl"),
      bytes: Buffer.from("x"),
      map: new Map<string, unknown>([
        ["token", "t"],
        ["a", 1],
      ]),
    };
    input.self = input;
    input.list = [input];
    let deep: Record<string, unknown> = {};
    input.deep = deep;
    for (let i = 0; i < 30; i++) deep = (deep.next = {}) as Record<string, unknown>;
    const copy = { ...input };
    const out = auditMetaSafe(input);
    expect(input).toEqual(copy);
    expect(input.password).toBe("p");
    expect(out).toMatchObject({
      password: REDACTED,
      when: "2026-01-01T00:00:00.000Z",
      n: "10",
      inf: null,
      err: { name: "Error", message: `boom Bearer ${REDACTED}` },
      bytes: "[Binary]",
      map: { token: REDACTED, a: 1 },
      self: "[Circular]",
      list: ["[Circular]"],
    });
    expect("f" in out || "u" in out).toBe(false);
    expect(JSON.stringify(out)).toContain("[Truncated]");
    expect(auditMetaSafe(null)).toEqual({});
    expect(auditMetaSafe("text")).toEqual({ value: "text" });
  });

  it("cuts very long strings", () => {
    const out = auditMetaSafe({ body: "a".repeat(5000) }, { maxStringLength: 100 });
    expect(out.body).toMatch(/^a{100}…\[4900 more\]$/);
  });

  it("createAuditLog redacts meta on append by default", async () => {
    const { createAuditLog } = await import("@ops/audit");
    const { MemoryAuditStore } = await import("@ops/adapter-memory");
    const log = createAuditLog({ store: new MemoryAuditStore(), env: "prod" });
    const rec = await log.append({
      action: "AUTH_LOGIN",
      actorUserId: "u",
      meta: { password: "x", headers: { authorization: "Bearer abcdefghijkl" } },
    });
    expect(rec.meta).toEqual({ password: REDACTED, headers: { authorization: REDACTED } });
  });
});

describe("auditMetaSafe: credentials inside URLs and key=value strings (review)", () => {
  it("masks a URL's password and secret query parameters, keeps the rest", () => {
    const out = auditMetaSafe({
      callback: "https://hooks.example.com/in?channel=ops&access_token=abc123XYZ&x=1",
      db: "postgres://admin:hunter2@db.internal:5432/app",
      form: "user=alice&password=hunter2",
      presigned: "https://bucket.s3.amazonaws.com/o?X-Amz-Credential=AK%2F1&X-Amz-Signature=deadbeef",
      plain: "route=/checkout&step=2",
    });
    expect(out.callback).toBe(`https://hooks.example.com/in?channel=ops&access_token=${REDACTED}&x=1`);
    expect(out.db).toBe(`postgres://admin:${REDACTED}@db.internal:5432/app`);
    expect(out.form).toBe(`user=alice&password=${REDACTED}`);
    expect(out.presigned).toBe(`https://bucket.s3.amazonaws.com/o?X-Amz-Credential=${REDACTED}&X-Amz-Signature=${REDACTED}`);
    expect(out.plain).toBe("route=/checkout&step=2");
    expect(JSON.stringify(out)).not.toMatch(/hunter2|abc123XYZ|deadbeef/);
  });
});
