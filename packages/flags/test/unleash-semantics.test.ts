import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemStorageProvider, Unleash } from "unleash-client";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController, type Condition } from "@ops/flags";

/**
 * `semantics: "unleash"` against the real unleash-client 6.12.1: every constraint below, on every
 * context below, must decide as Unleash does (an imported Unleash flag evaluates the way Unleash
 * does). Cases are added here whenever a difference is found.
 */

interface Constraint {
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  caseInsensitive?: boolean;
  inverted?: boolean;
}

const OPS: Record<string, Condition["op"]> = {
  IN: "in",
  NOT_IN: "notIn",
  STR_STARTS_WITH: "startsWith",
  STR_ENDS_WITH: "endsWith",
  STR_CONTAINS: "contains",
  NUM_EQ: "eq",
  NUM_GT: "gt",
  NUM_GTE: "gte",
  NUM_LT: "lt",
  NUM_LTE: "lte",
  DATE_AFTER: "after",
  DATE_BEFORE: "before",
  SEMVER_EQ: "semverEq",
  SEMVER_GT: "semverGt",
  SEMVER_GTE: "semverGte",
  SEMVER_LT: "semverLt",
  SEMVER_LTE: "semverLte",
  REGEX: "matches",
  IN_CIDR: "inCidr",
};

const c = (operator: string, contextName: string, more: Partial<Constraint> = {}): Constraint => ({ operator, contextName, ...more });

const CONSTRAINTS: Constraint[] = [
  c("IN", "plan", { values: ["pro", "enterprise"] }),
  c("IN", "plan", { values: [" pro ", "", "enterprise"] }), // trimmed, empty dropped
  c("IN", "plan", { values: ["  "] }), // survives as "" (dropped only when empty before trimming)
  c("IN", "plan", { values: ["PRO"], caseInsensitive: true }), // IN ignores caseInsensitive
  c("IN", "age", { values: ["42"] }), // numbers are stringified
  c("IN", "beta", { values: ["true"] }), // booleans are stringified
  c("NOT_IN", "plan", { values: ["free"] }), // true for a missing field
  c("NOT_IN", "plan", { values: ["free"], inverted: true }),
  c("STR_STARTS_WITH", "email", { values: ["admin@", " root@ "] }),
  c("STR_ENDS_WITH", "email", { values: ["@EXAMPLE.COM"], caseInsensitive: true }),
  c("STR_ENDS_WITH", "email", { values: ["@EXAMPLE.COM"] }),
  c("STR_CONTAINS", "email", { values: ["ops"] }),
  c("STR_CONTAINS", "age", { values: ["4"] }),
  c("STR_CONTAINS", "email", { values: ["ops"], inverted: true }),
  c("NUM_EQ", "age", { value: "42" }),
  c("NUM_EQ", "age", { value: "42.0" }),
  c("NUM_GT", "age", { value: "18" }),
  c("NUM_GTE", "age", { value: "42" }),
  c("NUM_LT", "age", { value: "1e3" }),
  c("NUM_LTE", "age", { value: "0x2A" }),
  c("NUM_EQ", "age", { value: "" }),
  c("NUM_EQ", "age", { value: "abc" }),
  c("NUM_LT", "age", { value: "5", inverted: true }),
  c("SEMVER_EQ", "version", { value: "1.2.3" }),
  c("SEMVER_GT", "version", { value: "1.2.3-rc.1" }),
  c("SEMVER_GTE", "version", { value: "v1.2.3" }), // a "v" target is accepted
  c("SEMVER_LT", "version", { value: "2.0.0" }),
  c("SEMVER_LTE", "version", { value: "1.2.3+build.5" }),
  c("SEMVER_EQ", "version", { value: "not-a-version" }),
  c("SEMVER_LT", "version", { value: "1.10.0-alpha.10" }),
  c("DATE_AFTER", "currentTime", { value: "2025-01-01T00:00:00.000Z" }),
  c("DATE_BEFORE", "anything", { value: "2025-01-01T00:00:00.000Z" }), // the field is ignored: currentTime
  c("DATE_AFTER", "currentTime", { value: "garbage" }),
  c("REGEX", "email", { value: "^[a-z]+@example\\.com$" }),
  c("REGEX", "email", { value: "(?i)^ADMIN" }), // inline flags
  c("REGEX", "email", { value: "^[[:alpha:]]+@" }), // POSIX classes
  c("REGEX", "email", { value: "^ADMIN", caseInsensitive: true }),
  c("REGEX", "email", { value: "(a+)+$" }), // linear time on a hostile input
  c("REGEX", "email", { value: "(" }), // RE2 rejects it: never matches
  c("REGEX", "email", { value: "(?=x)" }), // lookahead: not RE2
  c("REGEX", "age", { value: "^4\\d$" }),
  c("REGEX", "email", { value: "\\pL+@" }),
  c("IN_CIDR", "remoteAddress", { values: ["not-a-cidr", "10.0.0.0/8"] }), // one invalid entry, the rest still match
  c("IN_CIDR", "remoteAddress", { values: ["192.168.1.1"] }),
  c("IN_CIDR", "remoteAddress", { values: ["2001:db8::/32", "::ffff:0:0/96"] }),
  c("IN_CIDR", "remoteAddress", { values: [" 172.16.0.0/12 ", ""] }),
  c("IN_CIDR", "remoteAddress", { values: ["10.0.0.0/33"] }),
  c("IN_CIDR", "remoteAddress", { values: ["10.0.0.0/8"], inverted: true }),
  c("UNKNOWN_OP", "plan", { values: ["pro"] }),
];

const CONTEXTS: Record<string, unknown>[] = [
  {},
  { userId: "u1", properties: { plan: "pro", email: "admin@example.com", age: 42, beta: true, version: "1.2.3" } },
  { userId: "u2", properties: { plan: "PRO", email: "Root@Example.COM", age: "42.0", version: "v1.2.3" } },
  { userId: "u3", properties: { plan: "", email: "", age: "", version: "" } },
  { userId: "u4", properties: { plan: "enterprise", email: "ops-team@corp.io", age: 17, version: "1.2.3-rc.2" } },
  { userId: "u5", properties: { plan: "free", email: "zoë@example.com", age: 1000, version: " 1.2.4 " } },
  { userId: "u6", properties: { email: `${"a".repeat(5000)}!`, age: "0x2A", version: "1.10.0-alpha.9" } },
  { userId: "u7", properties: { email: "用户@example.com", age: -1, version: "2.0.0+meta" } },
  { userId: "u8", properties: { plan: " pro ", age: "  42  ", version: "01.2.3" } },
  { remoteAddress: "10.1.2.3", currentTime: "2026-06-01T00:00:00.000Z" },
  { remoteAddress: "192.168.1.1", currentTime: "2024-06-01T00:00:00.000Z" },
  { remoteAddress: "172.20.0.9" },
  { remoteAddress: "2001:db8::1" },
  { remoteAddress: "::ffff:10.0.0.1" },
  { remoteAddress: "not-an-ip" },
  { remoteAddress: "11.0.0.1", properties: { plan: "pro" } },
];

describe("Unleash constraint semantics (unleash-client 6.12.1)", () => {
  let unleash: Unleash;
  let ours: FeatureFlagController;
  beforeAll(async () => {
    unleash = new Unleash({
      appName: "ops-semantics",
      url: "http://127.0.0.1:9/api/",
      refreshInterval: 0,
      disableMetrics: true,
      skipInstanceCountWarning: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: {
        data: CONSTRAINTS.map((k, i) => ({
          name: `c${i}`,
          enabled: true,
          strategies: [{ name: "default", parameters: {}, constraints: [k] }],
        })) as never,
      },
    });
    unleash.on("error", () => {});
    unleash.on("warn", () => {});
    await new Promise<void>((resolve) => unleash.once("ready", () => resolve()));
    ours = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0, healthCheckIntervalMs: 0, usageFlushMs: 0 });
    await ours.ready();
    const who = { actorUserId: "import", reason: "imported from Unleash" };
    for (const [i, k] of CONSTRAINTS.entries()) {
      const when: Condition = {
        attr: k.contextName,
        op: OPS[k.operator] ?? "neq",
        ...(k.values ? { values: k.values } : {}),
        ...(k.value !== undefined ? { value: k.value } : {}),
        ...(k.caseInsensitive !== undefined ? { caseInsensitive: k.caseInsensitive } : {}),
        ...(k.inverted !== undefined ? { inverted: k.inverted } : {}),
      };
      await ours.setFlag({ key: `c${i}`, newValue: false, ...who });
      await ours.updateFlag({
        key: `c${i}`,
        patch: { semantics: "unleash", rules: [{ id: "strategy", when: [when], segments: [], serve: { value: true } }] },
        ...who,
      });
    }
  });
  afterAll(async () => {
    unleash?.destroy();
    await ours?.close();
  });

  it(`decides as Unleash on ${CONSTRAINTS.length} constraints × ${CONTEXTS.length} contexts`, () => {
    const mismatches: string[] = [];
    for (const [i, k] of CONSTRAINTS.entries())
      for (const ctx of CONTEXTS) {
        const theirs = unleash.isEnabled(`c${i}`, ctx as never);
        const mine = ours.evaluate(`c${i}`, ctx).value;
        if (mine !== theirs)
          mismatches.push(`${JSON.stringify(k)} on ${JSON.stringify(ctx).slice(0, 120)}: ours ${String(mine)}, unleash ${String(theirs)}`);
      }
    expect(mismatches).toEqual([]);
  });

  it("evaluates a pattern that backtracks exponentially in JavaScript's RegExp (RE2: linear time)", () => {
    // With a backtracking engine this input takes longer than the test's timeout; RE2 answers at once.
    const i = CONSTRAINTS.findIndex((k) => k.value === "(a+)+$");
    expect(ours.evaluate(`c${i}`, { properties: { email: `${"a".repeat(20_000)}!` } }).value).toBe(false);
  });

  it("our own semantics refuse Unleash-only options (a refusal changes nothing)", async () => {
    await expect(
      ours.updateFlag({
        key: "c0",
        patch: {
          semantics: "ops",
          rules: [
            { id: "x", when: [{ attr: "plan", op: "in", values: ["pro"], caseInsensitive: true }], segments: [], serve: { value: true } },
          ],
        },
        actorUserId: "a",
        reason: "r",
      }),
    ).rejects.toThrow(/semantics to "unleash"/);
    expect(ours.getFlag("c0")?.config.semantics).toBe("unleash");
  });
});
