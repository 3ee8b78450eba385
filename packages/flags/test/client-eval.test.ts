import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController, buildClientPayload, type SetRulesInput } from "@ops/flags";
import { compileClientFlag, resolveClientFlag, type ClientPayload } from "@ops/flags/client";
import { CONDITION_OPS } from "@ops/flags";

const who = { actorUserId: "admin", reason: "client test" };
const CLIENT_ATTRS = ["page", "screen", "deviceId", "locale"];
const PRIVATE = ["email", "ip"];

/** Flags covering every operator, segments, variants, splits, every bucketing mode, overrides and the kill switch. */
async function seed(c: FeatureFlagController) {
  await c.defineSegment({
    name: "staff",
    segment: { include: ["u1", "u7", "u42"], exclude: ["u13"], when: [{ attr: "email", op: "endsWith", value: "@corp.example" }] },
    ...who,
  });
  await c.defineSegment({
    name: "mobile",
    segment: { by: "tenantId", include: ["t2"], when: [{ attr: "screen", op: "lt", value: 700 }] },
    ...who,
  });
  const rules: Record<string, SetRulesInput["rules"]> = {
    ops_eq: [{ id: "r", when: [{ attr: "plan", op: "eq", value: "enterprise" }], serve: { value: true } }],
    ops_neq: [{ id: "r", when: [{ attr: "plan", op: "neq", value: "free" }], serve: { value: true } }],
    ops_in: [{ id: "r", when: [{ attr: "country", op: "in", values: ["DE", "FR", "ES"] }], serve: { value: true } }],
    ops_notIn: [{ id: "r", when: [{ attr: "country", op: "notIn", values: ["US"] }], serve: { value: true } }],
    ops_contains: [
      { id: "r", when: [{ attr: "tags", op: "contains", value: "beta" }], serve: { value: true } },
      { id: "r2", when: [{ attr: "page", op: "contains", value: "/checkout" }], serve: { value: true } },
    ],
    ops_starts: [{ id: "r", when: [{ attr: "page", op: "startsWith", value: "/app" }], serve: { value: true } }],
    ops_ends: [{ id: "r", when: [{ attr: "email", op: "endsWith", value: "@corp.example" }], serve: { value: true } }],
    ops_matches: [
      { id: "r", when: [{ attr: "page", op: "matches", value: "^/(app|admin)/[a-z]+$" }], serve: { value: true } },
      { id: "r2", when: [{ attr: "email", op: "matches", value: "^[a-c]" }], serve: { value: true } },
    ],
    ops_num: [
      { id: "gt", when: [{ attr: "age", op: "gt", value: 60 }], serve: { value: true } },
      {
        id: "lte",
        when: [
          { attr: "screen", op: "lte", value: 480 },
          { attr: "age", op: "gte", value: 18 },
        ],
        serve: { value: true },
      },
      { id: "lt", when: [{ attr: "age", op: "lt", value: 13 }], serve: { value: false } },
    ],
    ops_semver: [
      { id: "eq", when: [{ attr: "appVersion", op: "semverEq", value: "2.0.0" }], serve: { value: true } },
      { id: "gt", when: [{ attr: "appVersion", op: "semverGt", value: "3.1.0" }], serve: { value: true } },
      {
        id: "gte",
        when: [
          { attr: "appVersion", op: "semverGte", value: "2.5.0-beta.2" },
          { attr: "appVersion", op: "semverLt", value: "2.9.0" },
        ],
        serve: { value: true },
      },
      { id: "lte", when: [{ attr: "appVersion", op: "semverLte", value: "1.0.0" }], serve: { value: true } },
    ],
    ops_time: [
      { id: "before", when: [{ attr: "createdAt", op: "before", value: "2024-01-01T00:00:00Z" }], serve: { value: true } },
      {
        id: "after",
        when: [
          { attr: "createdAt", op: "after", value: "2025-06-01T00:00:00Z" },
          { attr: "locale", op: "eq", value: "de-DE" },
        ],
        serve: { value: true },
      },
    ],
    ops_cidr: [{ id: "r", when: [{ attr: "ip", op: "inCidr", values: ["10.0.0.0/8", "2001:db8::/32"] }], serve: { value: true } }],
    segs: [
      { id: "staff", when: [], segments: ["staff"], serve: { value: true } },
      { id: "mobile", when: [{ attr: "page", op: "neq", value: "/home" }], segments: ["mobile"], serve: { rollout: { percentage: 50 } } },
    ],
    split_variants: [
      {
        id: "ab",
        when: [{ attr: "beta", op: "eq", value: true }],
        serve: {
          rollout: {
            split: [
              { weight: 30, variant: "a" },
              { weight: 30, variant: "b" },
              { weight: 40, variant: "c" },
            ],
          },
        },
      },
    ],
    by_device: [{ id: "dev", when: [], serve: { rollout: { by: "deviceId", percentage: 40 } } }],
    by_private: [{ id: "em", when: [{ attr: "page", op: "startsWith", value: "/" }], serve: { rollout: { by: "email", percentage: 50 } } }],
    unleash_mode: [
      {
        id: "u",
        when: [{ attr: "plan", op: "in", values: ["pro", "enterprise"] }],
        serve: { rollout: { percentage: 35, bucketing: { mode: "unleash", groupId: "grp" } } },
      },
    ],
    gb_mode: [
      {
        id: "g",
        when: [],
        serve: {
          rollout: {
            split: [
              { weight: 50, value: "x" },
              { weight: 50, value: "y" },
            ],
            bucketing: { mode: "growthbook", seed: "s1", hashVersion: 2 },
          },
        },
      },
    ],
    ld_mode: [
      {
        id: "l",
        when: [{ attr: "screen", op: "gte", value: 100 }],
        serve: {
          rollout: {
            split: [
              { weight: 25.5, value: "p" },
              { weight: 74.5, value: "q" },
            ],
            bucketing: { mode: "launchdarkly", ldSalt: "salty" },
          },
        },
      },
    ],
  };
  for (const [key, r] of Object.entries(rules)) {
    const isString = key === "gb_mode" || key === "ld_mode";
    const isSplit = key === "split_variants";
    await c.setFlag({ key, newValue: isString ? "none" : isSplit ? "off" : false, ...who });
    if (isSplit) await c.updateFlag({ key, patch: { variants: { a: "A", b: "B", c: "C", off: "OFF" } }, ...who });
    await c.setRules({ key, rules: r, ...who });
  }
  await c.setFlag({ key: "rollout_only", newValue: false, ...who });
  await c.setRollout({ key: "rollout_only", rollout: { percentage: 25 }, ...who });
  await c.setRollout({ key: "ops_eq", rollout: { percentage: 10 }, ...who });
  await c.setRollout({ key: "rollout_private", rollout: null, ...who }).catch(() => undefined);
  await c.setFlag({ key: "killed", newValue: true, ...who });
  await c.setRollout({ key: "killed", rollout: { percentage: 50 }, ...who });
  await c.setEnabled({ key: "killed", enabled: false, ...who });
  await c.setFlag({ key: "ops_in", newValue: true, tenantId: "t1", ...who });
  await c.setFlag({ key: "segs", newValue: false, tenantId: "t3", ...who });
  await c.setFlag({ key: "plain", newValue: 42, ...who });
  // Prerequisites: decided on the server for the payload's context, the rest left to the client.
  await c.setFlag({ key: "needs_eq", newValue: false, ...who });
  await c.updateFlag({
    key: "needs_eq",
    patch: {
      prerequisites: [{ key: "ops_eq", value: true }],
      rules: [{ id: "p", when: [{ attr: "page", op: "startsWith", value: "/app" }], segments: [], serve: { value: true } }],
      rollout: { percentage: 60 },
    },
    ...who,
  });
  await c.setFlag({ key: "needs_variant", newValue: "none", ...who });
  await c.updateFlag({
    key: "needs_variant",
    patch: {
      prerequisites: [
        { key: "split_variants", variants: ["a", "c"] },
        { key: "killed", negate: true },
      ],
      rollout: { percentage: 50, value: "in" },
    },
    ...who,
  });
  await c.setFlag({ key: "needs_killed", newValue: true, ...who });
  await c.updateFlag({ key: "needs_killed", patch: { prerequisites: [{ key: "killed" }], offValue: false }, ...who });
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function contextGen(seedN: number) {
  const r = rng(seedN);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const maybe = <T>(v: T): T | undefined => (r() < 0.15 ? undefined : v);
  const ids = ["u1", "u7", "u13", "u42", "", "ü-ñ", "😀x", "user-" + "z".repeat(300)];
  return (i: number): Record<string, unknown> => {
    const ctx: Record<string, unknown> = {
      userId: r() < 0.1 ? pick(ids) : r() < 0.05 ? undefined : `u${i}`,
      targetingKey: r() < 0.3 ? `tk${i}` : undefined,
      tenantId: maybe(pick(["t1", "t2", "t3", "t4"])),
      plan: maybe(pick(["free", "pro", "enterprise", 3])),
      country: maybe(pick(["DE", "FR", "US", "JP", "ES"])),
      tags: maybe(pick([["beta"], ["alpha", "beta"], [], "beta-tester"])),
      email: maybe(pick(["a@corp.example", "bob@x.io", "carl@corp.example", "zed@y.org"])),
      age: maybe(pick([5, 12, 13, 18, 30, 60, 61, "40"])),
      appVersion: maybe(pick(["1.0.0", "0.9.9", "2.0.0", "2.5.0-beta.1", "2.5.0-beta.10", "2.8.3", "3.1.0", "3.1.1", "x.y"])),
      createdAt: maybe(pick(["2023-05-01T00:00:00Z", "2024-06-01T00:00:00Z", "2025-07-01T00:00:00Z", 1_800_000_000_000, "garbage"])),
      ip: maybe(pick(["10.1.2.3", "192.168.0.1", "2001:db8::1", "2001:db9::1", "not-an-ip"])),
      beta: maybe(pick([true, false, "true"])),
      page: maybe(pick(["/home", "/app/settings", "/admin/users", "/checkout/pay", "/app/x1"])),
      screen: maybe(pick([320, 480, 699, 1024, 1920])),
      deviceId: maybe(`d${Math.floor(r() * 1e9)}`),
      locale: maybe(pick(["de-DE", "en-US"])),
    };
    for (const k of Object.keys(ctx)) if (ctx[k] === undefined) delete ctx[k];
    return ctx;
  };
}

const same = (a: { value: unknown; variant: string | null; reason: string; ruleId: string | null }, b: typeof a) =>
  a.variant === b.variant &&
  a.reason === b.reason &&
  a.ruleId === b.ruleId &&
  (a.value === b.value || JSON.stringify(a.value) === JSON.stringify(b.value));

describe("@ops/flags/client gives the server's answers", () => {
  it("the seeded flags use every condition operator", async () => {
    const c = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0 });
    await seed(c);
    const used = new Set<string>();
    for (const k of c.keys()) for (const r of c.getFlag(k)?.config.rules ?? []) for (const w of r.when) used.add(w.op);
    expect([...CONDITION_OPS].filter((op) => !used.has(op))).toEqual([]);
    await c.close();
  });

  it("100,000 generated contexts: same value, variant, reason and rule, with and without client attribute changes", async () => {
    const c = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0 });
    await seed(c);
    const keys = c.keys();
    const gen = contextGen(20);
    const alt = contextGen(99);
    let checked = 0;
    const mismatches: string[] = [];
    const reasons = new Set<string>();
    // Payload flags repeat across contexts: compile each distinct one once (as a client would per payload).
    const compiledCache = new Map<string, ReturnType<typeof compileClientFlag>>();
    const N = Number(process.env.CLIENT_EVAL_N ?? 100_000);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const ctx = gen(i);
      const built = buildClientPayload(c, ctx, { clientAttributes: CLIENT_ATTRS, privateAttributes: PRIVATE });
      // What goes over the wire is JSON: every 50th payload takes the round trip (the rest only to save time).
      const text = i % 50 === 0 ? JSON.stringify(built) : "";
      const payload: ClientPayload = i % 50 === 0 ? JSON.parse(text) : built;
      // The client attributes a page might set later, from another generated context.
      const other = alt(i);
      const changes: Record<string, unknown> = {};
      for (const a of CLIENT_ATTRS) changes[a] = other[a];
      const merged: Record<string, unknown> = {};
      for (const k in ctx) if (!CLIENT_ATTRS.includes(k)) merged[k] = ctx[k];
      const clientCtx: Record<string, unknown> = {};
      for (const k in payload.context) if (!CLIENT_ATTRS.includes(k)) clientCtx[k] = payload.context[k];
      for (const a of CLIENT_ATTRS)
        if (changes[a] !== undefined) {
          merged[a] = changes[a];
          clientCtx[a] = changes[a];
        }
      for (const key of keys) {
        const pf = payload.flags[key]!;
        let f: ReturnType<typeof compileClientFlag> | undefined;
        if (pf.fixed) f = compileClientFlag(key, pf);
        else {
          const sig = key + JSON.stringify(pf);
          f = compiledCache.get(sig);
          if (f === undefined) compiledCache.set(sig, (f = compileClientFlag(key, pf)));
        }
        const onServer = c.evaluate(key, ctx);
        const onClient = resolveClientFlag(f, payload.context);
        reasons.add(onServer.reason);
        if (!same(onServer, onClient) && mismatches.length < 10)
          mismatches.push(`${key} ${JSON.stringify(ctx)} server=${JSON.stringify(onServer)} client=${JSON.stringify(onClient)}`);
        const s2 = c.evaluate(key, merged);
        const c2 = resolveClientFlag(f, clientCtx);
        if (!same(s2, c2) && mismatches.length < 10)
          mismatches.push(`changed ${key} ${JSON.stringify(merged)} server=${JSON.stringify(s2)} client=${JSON.stringify(c2)}`);
        checked += 2;
      }
      // Private attributes never leave the server.
      if (PRIVATE.some((a) => a in payload.context)) mismatches.push(`private attribute in context: ${JSON.stringify(payload.context)}`);
      if (typeof ctx.email === "string" && text.includes(ctx.email as string)) mismatches.push(`email leaked: ${text}`);
      if (typeof ctx.ip === "string" && text.includes(`"${ctx.ip as string}"`)) mismatches.push(`ip leaked: ${text}`);
    }
    const cpu = process.cpuUsage(cpu0);
    if (process.env.CLIENT_EVAL_N) console.log(`cpu ms user=${cpu.user / 1000} system=${cpu.system / 1000} cache=${compiledCache.size}`);
    expect(mismatches).toEqual([]);
    expect(checked).toBe(N * keys.length * 2);
    expect([...reasons].sort()).toEqual([
      "DEFAULT",
      "DISABLED",
      "PREREQUISITE_FAILED",
      "SPLIT",
      "STATIC",
      "TARGETING_MATCH",
      "TENANT_OVERRIDE",
    ]);
    await c.close();
  }, 600_000);
});
