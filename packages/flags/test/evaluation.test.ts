import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController, createBucketer, type Rule } from "@ops/flags";

async function setup() {
  const store = new MemoryFlagStore();
  const c = new FeatureFlagController(store, "prod", { pollIntervalMs: 0 });
  await c.ready();
  const who = { actorUserId: "admin", reason: "test" };
  return { store, c, who };
}

describe("evaluation order and reasons", () => {
  it("kill switch -> tenant override -> rules -> rollout -> default", async () => {
    const { c, who } = await setup();
    await c.setFlag({ key: "f", newValue: false, ...who });
    expect(c.evaluate("f", { userId: "u1" })).toMatchObject({ value: false, reason: "STATIC" });
    await c.setRules({
      key: "f",
      rules: [{ id: "ent", when: [{ attr: "plan", op: "eq", value: "enterprise" }], serve: { value: true } }],
      ...who,
    });
    expect(c.evaluate("f", { userId: "u1", plan: "enterprise" })).toMatchObject({ value: true, reason: "TARGETING_MATCH", ruleId: "ent" });
    expect(c.evaluate("f", { userId: "u1", plan: "free" })).toMatchObject({ value: false, reason: "DEFAULT", ruleId: null });
    await c.setRollout({ key: "f", rollout: { percentage: 100 }, ...who });
    expect(c.evaluate("f", { userId: "u1", plan: "free" })).toMatchObject({ value: true, reason: "SPLIT" });
    expect(c.evaluate("f", { plan: "free" })).toMatchObject({ value: false, reason: "DEFAULT" }); // no unit: not in any rollout
    await c.setFlag({ key: "f", newValue: false, tenantId: "acme", ...who });
    expect(c.evaluate("f", { userId: "u1", plan: "enterprise", tenantId: "acme" })).toMatchObject({
      value: false,
      reason: "TENANT_OVERRIDE",
    });
    await c.setEnabled({ key: "f", enabled: false, ...who });
    // Disabled: the caller's default (no variant); without one, null (no definition here).
    expect(c.evaluate("f", { userId: "u1", plan: "enterprise", tenantId: "acme" }, true)).toMatchObject({
      value: true,
      reason: "DISABLED",
      variant: null,
    });
    expect(c.evaluate("f", { userId: "u1", plan: "enterprise", tenantId: "acme" })).toMatchObject({ value: null, reason: "DISABLED" });
    expect(c.isEnabled("f", {}, true)).toBe(true);
    await c.setEnabled({ key: "f", enabled: true, ...who });
    expect(c.evaluate("f", { tenantId: "acme" }).reason).toBe("TENANT_OVERRIDE");
  });

  it("results are precompiled: evaluations with the same outcome return the same frozen object", async () => {
    const { c, who } = await setup();
    await c.setFlag({ key: "p", newValue: false, ...who });
    await c.setRollout({ key: "p", rollout: { percentage: 50 }, ...who });
    const on = Array.from({ length: 200 }, (_, i) => c.evaluate("p", { userId: `u${i}` })).filter((d) => d.value === true);
    expect(on.length).toBeGreaterThan(50);
    for (const d of on) expect(d).toBe(on[0]);
    expect(Object.isFrozen(on[0])).toBe(true);
    expect(c.evaluate("p", {})).toBe(c.evaluate("p", { plan: "x" }));
  });

  it("a rule with a rollout falls through for units outside it", async () => {
    const { c, who } = await setup();
    await c.setFlag({ key: "g", newValue: false, ...who });
    await c.setRules({
      key: "g",
      rules: [{ id: "ent30", when: [{ attr: "plan", op: "eq", value: "enterprise" }], serve: { rollout: { percentage: 30 } } }],
      ...who,
    });
    const b = createBucketer("g", [30], false);
    let inside = 0;
    for (let i = 0; i < 2000; i++) {
      const d = c.evaluate("g", { userId: `u${i}`, plan: "enterprise" });
      expect(d.value).toBe(b.slot(`u${i}`) === 0);
      if (d.value) {
        inside++;
        expect(d).toMatchObject({ reason: "SPLIT", ruleId: "ent30" });
      } else expect(d.reason).toBe("DEFAULT");
      expect(c.evaluate("g", { userId: `u${i}`, plan: "free" }).value).toBe(false);
    }
    expect(inside).toBeGreaterThan(500);
    expect(inside).toBeLessThan(700);
  });

  it("buckets by tenant so a whole tenant flips together, and serves weighted variants", async () => {
    const { c, who } = await setup();
    await c
      .updateFlag({
        key: "theme",
        patch: {},
        ...who,
      })
      .catch(() => undefined);
    await c.setFlag({ key: "theme", newValue: "classic", ...who });
    await c.updateFlag({
      key: "theme",
      patch: {
        variants: { a: "blue", b: "green" },
        rollout: {
          by: "tenantId",
          split: [
            { weight: 50, variant: "a" },
            { weight: 50, variant: "b" },
          ],
        },
      },
      ...who,
    });
    const first = c.evaluate("theme", { tenantId: "t1", userId: "x" });
    expect(first.reason).toBe("SPLIT");
    expect(["a", "b"]).toContain(first.variant);
    for (let i = 0; i < 50; i++) expect(c.evaluate("theme", { tenantId: "t1", userId: `u${i}` }).value).toBe(first.value);
    const seen = new Set<unknown>();
    for (let i = 0; i < 200; i++) seen.add(c.evaluate("theme", { tenantId: `t${i}` }).variant);
    expect(seen).toEqual(new Set(["a", "b"]));
  });

  it("rollouts take a compatibility bucketing mode from the stored config", async () => {
    const { c, who } = await setup();
    await c.setFlag({ key: "m", newValue: false, ...who });
    for (const mode of ["unleash", "growthbook", "launchdarkly", "ops"] as const) {
      await c.setRollout({ key: "m", rollout: { percentage: 30, bucketing: { mode, ldSalt: "s" } }, ...who });
      const b = createBucketer("m", [30], false, { mode, ldSalt: "s" });
      for (let i = 0; i < 300; i++) expect(c.isEnabled("m", { userId: `u${i}` }), `${mode} u${i}`).toBe(b.slot(`u${i}`) === 0);
    }
    await expect(c.setRollout({ key: "m", rollout: { percentage: 30, bucketing: { mode: "sha256" as never } }, ...who })).rejects.toThrow(
      /mode/,
    );
  });

  it("unknown flags and wrong types never throw", async () => {
    const { c, who } = await setup();
    expect(c.evaluate("nope")).toMatchObject({ value: null, reason: "ERROR", errorCode: "FLAG_NOT_FOUND" });
    expect(await c.getBool("nope")).toBe(false);
    await c.setFlag({ key: "s", newValue: "text", ...who });
    expect(await c.getBool("s")).toBe(false);
    expect(await c.getString("s")).toBe("text");
    await c.setFlag({ key: "n", newValue: 42, ...who });
    expect(await c.getNumber("n")).toBe(42);
    await c.setFlag({ key: "j", newValue: { limits: [1, 2] }, ...who });
    expect(await c.getJson("j")).toEqual({ limits: [1, 2] });
    const throwing = {
      get plan(): string {
        throw new Error("getter exploded");
      },
    };
    await c.setRules({ key: "n", rules: [{ id: "r", when: [{ attr: "plan", op: "eq", value: "x" }], serve: { value: 1 } }], ...who });
    expect(c.evaluate("n", throwing)).toMatchObject({ reason: "ERROR", errorCode: "GENERAL" });
    expect(c.evaluate("n", null as never)).toMatchObject({ reason: "ERROR", errorCode: "GENERAL" });
    expect(c.isEnabled(undefined as never, undefined)).toBe(false);
  });
});

describe("targeting operators", () => {
  const cases: { rule: Rule["when"][number]; yes: Record<string, unknown>[]; no: Record<string, unknown>[] }[] = [
    { rule: { attr: "plan", op: "eq", value: "pro" }, yes: [{ plan: "pro" }], no: [{ plan: "Pro" }, {}] },
    { rule: { attr: "plan", op: "neq", value: "pro" }, yes: [{ plan: "free" }], no: [{ plan: "pro" }, {}] },
    { rule: { attr: "country", op: "in", values: ["DE", "FR"] }, yes: [{ country: "FR" }], no: [{ country: "US" }, {}] },
    { rule: { attr: "country", op: "notIn", values: ["DE", "FR"] }, yes: [{ country: "US" }], no: [{ country: "DE" }, {}] },
    { rule: { attr: "email", op: "contains", value: "@corp" }, yes: [{ email: "a@corp.io" }], no: [{ email: "a@x.io" }] },
    { rule: { attr: "groups", op: "contains", value: "beta" }, yes: [{ groups: ["a", "beta"] }], no: [{ groups: ["a"] }] },
    { rule: { attr: "email", op: "startsWith", value: "admin" }, yes: [{ email: "admin@x" }], no: [{ email: "x@admin" }] },
    { rule: { attr: "email", op: "endsWith", value: ".gov" }, yes: [{ email: "a@b.gov" }], no: [{ email: "a@gov.io" }, { email: 5 }] },
    {
      rule: { attr: "email", op: "matches", value: "^[a-z]+@example\\.com$" },
      yes: [{ email: "bob@example.com" }],
      no: [{ email: "Bob@example.com" }],
    },
    { rule: { attr: "age", op: "gt", value: 18 }, yes: [{ age: 19 }], no: [{ age: 18 }, { age: "19" }] },
    { rule: { attr: "age", op: "gte", value: 18 }, yes: [{ age: 18 }], no: [{ age: 17 }] },
    { rule: { attr: "age", op: "lt", value: 18 }, yes: [{ age: 17 }], no: [{ age: 18 }] },
    { rule: { attr: "age", op: "lte", value: 18 }, yes: [{ age: 18 }], no: [{ age: 19 }] },
    {
      rule: { attr: "v", op: "semverGte", value: "2.0.0" },
      yes: [{ v: "2.0.0" }, { v: "10.0.0" }, { v: "v2.1.0" }],
      no: [{ v: "1.9.9" }, { v: "2.0.0-rc.1" }, { v: "garbage" }],
    },
    {
      rule: { attr: "v", op: "semverLt", value: "1.0.0-beta.2" },
      yes: [{ v: "1.0.0-beta.1" }, { v: "1.0.0-alpha" }],
      no: [{ v: "1.0.0-beta.10" }, { v: "1.0.0" }],
    },
    { rule: { attr: "v", op: "semverEq", value: "1.2.3" }, yes: [{ v: "1.2.3+build.7" }], no: [{ v: "1.2.4" }] },
    { rule: { attr: "v", op: "semverGt", value: "1.2.3" }, yes: [{ v: "1.10.0" }], no: [{ v: "1.2.3" }] },
    { rule: { attr: "v", op: "semverLte", value: "1.2.3" }, yes: [{ v: "1.2.3" }], no: [{ v: "1.2.4" }] },
    {
      rule: { attr: "signup", op: "before", value: "2025-01-01T00:00:00Z" },
      yes: [{ signup: "2024-12-31T23:59:59Z" }, { signup: new Date("2020-01-01") }],
      no: [{ signup: "2025-01-01T00:00:01Z" }, { signup: "not a date" }],
    },
    {
      rule: { attr: "signup", op: "after", value: "2025-01-01T00:00:00Z" },
      yes: [{ signup: Date.parse("2026-01-01") }],
      no: [{ signup: "2024-01-01" }],
    },
    {
      rule: { attr: "ip", op: "inCidr", values: ["10.0.0.0/8", "2001:db8::/32"] },
      yes: [{ ip: "10.1.2.3" }, { ip: "2001:db8::1" }, { ip: "2001:DB8:0:0:0:0:0:ff" }],
      no: [{ ip: "11.0.0.1" }, { ip: "2001:db9::1" }, { ip: "10.0.0.256" }, { ip: "nonsense" }],
    },
  ];
  it("each operator matches what it should and nothing else", async () => {
    const { c, who } = await setup();
    for (const [i, t] of cases.entries()) {
      const key = `op_${i}`;
      await c.setFlag({ key, newValue: false, ...who });
      await c.setRules({ key, rules: [{ id: "r", when: [t.rule], serve: { value: true } }], ...who });
      for (const ctx of t.yes) expect(c.isEnabled(key, ctx), `${t.rule.op} ${JSON.stringify(ctx)}`).toBe(true);
      for (const ctx of t.no) expect(c.isEnabled(key, ctx), `${t.rule.op} ${JSON.stringify(ctx)}`).toBe(false);
    }
  });

  it("reusable segments: include, exclude and conditions", async () => {
    const { c, who } = await setup();
    await c.defineSegment({
      name: "beta",
      segment: { include: ["u1"], exclude: ["u3"], when: [{ attr: "email", op: "endsWith", value: "@corp.io" }] },
      ...who,
    });
    await c.setFlag({ key: "f", newValue: false, ...who });
    await c.setRules({ key: "f", rules: [{ id: "beta", segments: ["beta"], serve: { value: true } }], ...who });
    expect(c.isEnabled("f", { userId: "u1" })).toBe(true);
    expect(c.isEnabled("f", { userId: "u2", email: "x@corp.io" })).toBe(true);
    expect(c.isEnabled("f", { userId: "u3", email: "x@corp.io" })).toBe(false);
    expect(c.isEnabled("f", { userId: "u4" })).toBe(false);
    // Changing the segment recompiles the flags that use it.
    await c.defineSegment({ name: "beta", segment: { include: ["u4"] }, ...who });
    expect(c.isEnabled("f", { userId: "u4" })).toBe(true);
    expect(c.isEnabled("f", { userId: "u1" })).toBe(false);
  });

  it("rejects unsafe regexes, bad CIDRs and unknown segments at write time, writing nothing", async () => {
    const { c, store, who } = await setup();
    await c.setFlag({ key: "f", newValue: false, ...who });
    const bad: Rule["when"] = [
      { attr: "a", op: "matches", value: "(a+)+$" },
      { attr: "a", op: "matches", value: "(x|xx)*y" },
      { attr: "a", op: "matches", value: "(\\w)\\1" },
      { attr: "a", op: "matches", value: "[" },
      { attr: "ip", op: "inCidr", values: ["10.0.0.0/33"] },
      { attr: "v", op: "semverGt", value: "one" },
      { attr: "n", op: "gt", value: "5" },
    ];
    for (const cond of bad)
      await expect(
        c.setRules({ key: "f", rules: [{ id: "r", when: [cond], serve: { value: true } }], ...who }),
        JSON.stringify(cond),
      ).rejects.toThrow(/\[ops\/flags\]/);
    await expect(c.setRules({ key: "f", rules: [{ id: "r", segments: ["missing"], serve: { value: true } }], ...who })).rejects.toThrow(
      /unknown segment/,
    );
    await expect(c.setRules({ key: "f", rules: [{ id: "r", serve: { value: "not a boolean" } }], ...who })).rejects.toThrow(/boolean/);
    expect((await store.get({ env: "prod", key: "f", tenantId: null }))?.version).toBe(1);
  });
});
