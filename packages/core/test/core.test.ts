import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  ConfigError,
  ConflictError,
  IntegrityError,
  ManualClock,
  NotFoundError,
  OpsError,
  TenantIsolationError,
  UnavailableError,
  UnsupportedError,
  ValidationError,
  decodeCursor,
  encodeCursor,
  loadOpsEnv,
  pageLimit,
  parseInput,
  prefixedId,
  severityFromGuess,
  sortableId,
  stableId,
  TenantIdSchema,
} from "@ops/core";

describe("errors", () => {
  it("gives every subclass its stable code, retryability and cause", () => {
    const cause = new Error("boom");
    const cases: Array<[OpsError, string, boolean]> = [
      [new ValidationError("v"), "VALIDATION", false],
      [new NotFoundError("n"), "NOT_FOUND", false],
      [new ConflictError("c", { cause }), "CONFLICT", true],
      [new TenantIsolationError("t"), "TENANT_ISOLATION", false],
      [new UnavailableError("u", { cause }), "UNAVAILABLE", true],
      [new UnsupportedError("s"), "UNSUPPORTED", false],
      [new IntegrityError("i"), "INTEGRITY", false],
      [new ConfigError("cfg"), "CONFIG", false],
    ];
    for (const [err, code, retryable] of cases) {
      expect(err).toBeInstanceOf(OpsError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.retryable).toBe(retryable);
      expect(err.name).toBe(err.constructor.name);
    }
    expect(new ConflictError("c", { cause }).cause).toBe(cause);
    expect(new ConfigError("x")).toBeInstanceOf(ValidationError);
  });

  it('a duplicate ("already exists") ConflictError is not retryable; a lost compare-and-set is', () => {
    expect(new ConflictError("[ops/x] flag prod/beta already exists (version 3)").retryable).toBe(false);
    expect(new ConflictError("[ops/x] outbox message id m1 already exists under another idempotencyKey").retryable).toBe(false);
    expect(new ConflictError("[ops/x] flag prod/beta: expected version 2, found 3").retryable).toBe(true);
    expect(new ConflictError("[ops/x] lost a concurrent write (40001), retry").retryable).toBe(true);
    expect(new ConflictError("[ops/x] anything", { retryable: false }).retryable).toBe(false);
    expect(new ConflictError("[ops/x] key already exists", { retryable: true }).retryable).toBe(true);
  });

  it("parseInput names every bad field and what was expected", () => {
    const schema = z.object({ key: z.string(), nested: z.object({ n: z.number() }), list: z.array(z.string()) });
    let caught: unknown;
    try {
      parseInput(schema, { key: 1, nested: { n: "x" }, list: ["a", 2] }, { pkg: "core", what: "thing" });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const err = caught as ValidationError;
    expect(err.message).toMatch(/^\[ops\/core\] invalid thing: /);
    expect(err.issues.map((i) => i.path).sort()).toEqual(["key", "list[1]", "nested.n"]);
    expect(err.message).toContain("nested.n");
    expect(parseInput(schema, { key: "k", nested: { n: 1 }, list: [] }, { pkg: "core", what: "thing" }).key).toBe("k");
  });
});

describe("ids", () => {
  it("stableId is deterministic and separates part boundaries and types", () => {
    expect(stableId("a", "b")).toBe(stableId("a", "b"));
    expect(stableId("a", "b")).toMatch(/^[0-9a-z]{26}$/);
    expect(stableId("ab", "c")).not.toBe(stableId("a", "bc"));
    expect(stableId(1)).not.toBe(stableId("1"));
    expect(stableId(null)).not.toBe(stableId(undefined));
    expect(stableId()).not.toBe(stableId(""));
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(stableId("FAILED_LOGINS_SPIKE", "tenant", i));
    expect(seen.size).toBe(10_000);
  });

  it("sortableId sorts by time, and by creation order within one millisecond", () => {
    const ids = [sortableId(1_000), sortableId(1_000), sortableId(1_000), sortableId(2_000), sortableId(50_000)];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toHaveLength(26);
    expect(prefixedId("inc")).toMatch(/^inc_[0-9a-z]{26}$/);
  });
});

describe("clock", () => {
  it("ManualClock moves only when told, never backwards", () => {
    const c = new ManualClock("2026-01-01T00:00:00.000Z");
    expect(c.date().toISOString()).toBe("2026-01-01T00:00:00.000Z");
    c.advance(1500);
    expect(c.now()).toBe(Date.parse("2026-01-01T00:00:01.500Z"));
    expect(() => c.advance(-1)).toThrow(RangeError);
    expect(() => new ManualClock("nonsense")).toThrow(RangeError);
  });
});

describe("env", () => {
  it("defaults to log mode and reads the seed's variables", () => {
    expect(loadOpsEnv({})).toEqual({ appName: "app", adminEmail: undefined, webhookUrl: undefined, notifyMode: "log" });
    const cfg = loadOpsEnv({
      APP_NAME: "Shop",
      OPSSPINE_ADMIN_EMAIL: "ops@example.com",
      OPSSPINE_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X",
      OPSSPINE_NOTIFY_MODE: "webhook",
    });
    expect(cfg).toMatchObject({ appName: "Shop", notifyMode: "webhook", adminEmail: "ops@example.com" });
  });

  it("names the bad variable and never echoes a secret value", () => {
    const secret = "not-a-url-but-secret-token-123";
    let err: ConfigError | undefined;
    try {
      loadOpsEnv({ OPSSPINE_NOTIFY_MODE: "webhook", OPSSPINE_WEBHOOK_URL: secret });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.code).toBe("CONFIG");
    expect(err!.message).toContain("OPSSPINE_WEBHOOK_URL");
    expect(err!.message).not.toContain(secret);
    expect(() => loadOpsEnv({ OPSSPINE_NOTIFY_MODE: "sms" })).toThrow(/OPSSPINE_NOTIFY_MODE/);
    expect(() => loadOpsEnv({ OPSSPINE_NOTIFY_MODE: "email" })).toThrow(/OPSSPINE_ADMIN_EMAIL: required/);
    expect(() => loadOpsEnv({ OPSSPINE_ADMIN_EMAIL: "nope" })).toThrow(/OPSSPINE_ADMIN_EMAIL/);
    expect(() => loadOpsEnv({ OPSSPINE_NOTIFY_MODE: "webhook" })).toThrow(/OPSSPINE_WEBHOOK_URL: required/);
  });
});

describe("cursors, limits and schemas", () => {
  it("round-trips cursors and rejects foreign ones with a typed error", () => {
    const c = encodeCursor(["2026-01-01T00:00:00.000Z", "id_1", 3]);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c, 3)).toEqual(["2026-01-01T00:00:00.000Z", "id_1", 3]);
    expect(() => decodeCursor(c, 2)).toThrow(ValidationError);
    expect(() => decodeCursor("%%%", 1)).toThrow(/cursor/);
    expect(pageLimit(undefined)).toBe(100);
    expect(pageLimit(5000)).toBe(1000);
    expect(() => pageLimit(0)).toThrow(/limit/);
    expect(() => pageLimit(1.5)).toThrow(ValidationError);
  });

  it("validates tenant ids and maps the seed's severity guess", () => {
    expect(TenantIdSchema.safeParse("tenant_abc").success).toBe(true);
    expect(TenantIdSchema.safeParse("").success).toBe(false);
    expect(TenantIdSchema.safeParse("a b").success).toBe(false);
    expect(TenantIdSchema.safeParse("x".repeat(129)).success).toBe(false);
    expect([1, 2, 3, 4].map(severityFromGuess)).toEqual(["critical", "high", "medium", "low"]);
  });
});
