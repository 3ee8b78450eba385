import { describe, expect, it } from "vitest";
import { describeError, runHealthChecks, scrubSecrets } from "@ops/health";

describe("scrubSecrets", () => {
  const cases: Array<[string, string, string[]]> = [
    ["postgres URL", "connect failed: postgres://app:s3cr3t-pw@db.internal:5432/prod", ["s3cr3t-pw", "db.internal", "app:"]],
    ["postgresql URL without password", "bad postgresql://db.internal/prod?sslmode=require", ["db.internal"]],
    ["redis URL", "Redis error at rediss://default:r3dis-pass@cache:6380", ["r3dis-pass", "cache:6380"]],
    ["mongodb+srv URL", "mongodb+srv://root:m0ngo@cluster0.x.mongodb.net/db", ["m0ngo", "cluster0"]],
    ["http userinfo", "GET https://user:http-pass@api.example.com/v1 failed", ["http-pass", "user:"]],
    ["conninfo", "host=db user=app password=conninfo-pw dbname=x", ["conninfo-pw"]],
    ["quoted conninfo password with spaces", "host=db password='two words-pw' dbname=x", ["two", "words-pw"]],
    ["JSON password with spaces", '{"password":"with space-pw"}', ["with", "space-pw"]],
    ["query token", "https://api.example.com/x?api_key=query-key-123&x=1", ["query-key-123"]],
    ["JSON secret", '{"client_secret":"json-secret-1","ok":1}', ["json-secret-1"]],
    ["bearer", "Authorization: Bearer abcdef123456.xyz", ["abcdef123456"]],
    [
      "jwt",
      "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c rejected",
      ["SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"],
    ],
    ["aws key", "InvalidAccessKeyId AKIAIOSFODNN7EXAMPLE", ["AKIAIOSFODNN7EXAMPLE"]],
    ["stripe key", "No such key sk_live_abcdefghijklmnop", ["sk_live_abcdefghijklmnop"]],
  ];
  for (const [label, input, leaks] of cases) {
    it(`redacts a ${label}`, () => {
      const out = scrubSecrets(input);
      for (const leak of leaks) expect(out).not.toContain(leak);
      expect(out).toContain("[redacted]");
    });
  }

  it("keeps ordinary messages intact", () => {
    const msg = 'connect ECONNREFUSED 127.0.0.1:5432; password authentication failed for user "app"';
    expect(scrubSecrets(msg)).toBe(msg);
  });

  it("redacts literal secrets it is given", () => {
    expect(scrubSecrets("login failed with plain-literal-pw", ["plain-literal-pw"])).toBe("login failed with [redacted]");
  });

  it("cuts long messages", () => {
    expect(scrubSecrets("x".repeat(1000)).length).toBeLessThanOrEqual(300);
  });

  it("describes errors with their code and cause, scrubbed", () => {
    const err = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }),
    });
    expect(describeError(err)).toBe("fetch failed: connect ECONNREFUSED 127.0.0.1:9");
    expect(describeError(new AggregateError([new Error("first reason")], ""))).toBe("first reason");
    expect(describeError("a string")).toBe("a string");
    expect(describeError(42)).toBe("check threw a non-error value");
  });

  it("scrubs what a failing check reports", async () => {
    const url = "postgres://app:leaky-password@db.internal:5432/prod";
    const status = await runHealthChecks("prod", [
      async () => ({ name: "db", ok: await Promise.reject<boolean>(new Error(`could not connect to ${url}`)) }),
      async () => ({ name: "api", ok: false, message: "401 for token=tok_live_zzz999" }),
    ]);
    const json = JSON.stringify(status);
    expect(json).not.toContain("leaky-password");
    expect(json).not.toContain("db.internal");
    expect(json).not.toContain("tok_live_zzz999");
    expect(status.checks[0]!.message).toBe("could not connect to [redacted]");
  });
});
