// Flag evaluation, side by side in one run: @ops/flags against unleash-client, GrowthBook
// (GrowthBookClient), OpenFeature (InMemoryProvider) and LaunchDarkly (file data source, events
// off). Measured the way an application calls a flag: every call builds a FRESH context object
// (in each system's own shape) around a user id that NEVER repeats (not across calls, passes or
// subjects), so no system profits from cached hashes or reused objects. Building the context is
// inside the timed loop for everyone, as it is in an app; the id strings exist before the pass,
// as an app's incoming ids do.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrowthBookClient } from "@growthbook/growthbook";
import { init as ldInit, integrations, type LDClient } from "@launchdarkly/node-server-sdk";
import { InMemoryProvider, OpenFeature } from "@openfeature/server-sdk";
import { InMemStorageProvider, Unleash } from "unleash-client";
import { memoryStores } from "@ops/adapter-memory";
import { FeatureFlagController, murmur3 } from "@ops/flags";
import type { BenchCase, BenchRow } from "../types.js";

type Scenario = "a" | "b" | "c" | "d";
const GROUPS: Record<Scenario, string> = {
  a: "flags: (a) 30% rollout by user id",
  b: 'flags: (b) plan == "enterprise" + 30% rollout',
  c: "flags: (c) tenant override (100 of 1,000 tenants) + 30% rollout",
  d: "flags: (d) 20 mixed rules, then a 30% rollout",
};
const TENANTS = 1000;
const OVERRIDDEN = Array.from({ length: 100 }, (_, i) => `tenant-${i * 10}`);

const plan = (i: number) => (i % 2 === 0 ? "enterprise" : "free");
const tenant = (i: number) => `tenant-${i % TENANTS}`;
const country = (i: number) => ["DE", "FR", "US", "BR", "JP", "IN", "GB", "NL"][i % 8]!;
const version = (i: number) => `${1 + (i % 3)}.${i % 10}.${i % 7}`;
const age = (i: number) => 18 + (i % 60);
const email = (i: number) => `person${i % 977}@${["example.com", "corp.io", "mail.net"][i % 3]}`;

/**
 * User ids no call has seen: a pass number (a process-wide counter, bumped per pass) and the
 * index, uuid-sized (36 characters). Built before each timed pass, as an app's incoming ids exist
 * as strings before it evaluates a flag for them; never hashed or seen by any system before.
 */
let round = 0;
const freshId = (r: number, i: number) => `${r.toString(36).padStart(8, "0")}-user-${i.toString(36).padStart(22, "0")}`;
function freshIds(n: number): string[] {
  const r = ++round;
  // Parsed from JSON, as an app's ids arrive (a request body, a header, a database row): flat
  // strings. Template-literal ids are V8 cons strings, which the first reader flattens in place,
  // leaving a copy the ids array keeps alive (GC work charged to whichever system reads the
  // caller's string itself rather than a concatenation of it) — no app with parsed ids pays that.
  return JSON.parse(JSON.stringify(Array.from({ length: n }, (_, i) => freshId(r, i)))) as string[];
}

/**
 * A timing loop of its own per subject (compiled from source, so each has its own inline caches,
 * like the single call site an application has; a shared loop would go megamorphic across
 * subjects and tax the cheapest evaluator most).
 */
type SyncLoop = (evalOne: (c: unknown) => boolean, make: (id: string, i: number) => unknown, ids: string[]) => number;
type AsyncLoop = (evalOne: (c: unknown) => Promise<boolean>, make: (id: string, i: number) => unknown, ids: string[]) => Promise<number>;
const syncLoop = (): SyncLoop =>
  new Function(
    "evalOne",
    "make",
    "ids",
    "let on = 0; for (let i = 0; i < ids.length; i++) if (evalOne(make(ids[i], i))) on++; return on;",
  ) as SyncLoop;
const asyncLoop = (): AsyncLoop =>
  new Function(
    "evalOne",
    "make",
    "ids",
    "return (async () => { let on = 0; for (let i = 0; i < ids.length; i++) if (await evalOne(make(ids[i], i))) on++; return on; })();",
  ) as AsyncLoop;

/** One subject of one scenario: `pass()` times one pass over never-seen ids. */
interface Subject {
  scenario: Scenario;
  name: string;
  n: number;
  note: string;
  ours?: boolean;
  warm(): Promise<void>;
  pass(): Promise<{ ops: number; share: number }>;
}

/** A subject evaluating `evalOne(make(id, i))` with a fresh context per call over n never-seen ids. */
function sync<C>(
  scenario: Scenario,
  name: string,
  n: number,
  make: (id: string, i: number) => C,
  evalOne: (c: C) => boolean,
  note = "",
  ours = false,
): Subject {
  const loop = syncLoop();
  const e = evalOne as (c: unknown) => boolean;
  return {
    scenario,
    name,
    n,
    note,
    ...(ours ? { ours } : {}),
    async warm() {
      loop(e, make, freshIds(Math.min(n, 20_000))); // JIT
    },
    async pass() {
      const ids = freshIds(n);
      const t0 = process.hrtime.bigint();
      const on = loop(e, make, ids);
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      return { ops: n / dt, share: on / n };
    },
  };
}

function async_<C>(
  scenario: Scenario,
  name: string,
  n: number,
  make: (id: string, i: number) => C,
  evalOne: (c: C) => Promise<boolean>,
  note = "",
): Subject {
  const loop = asyncLoop();
  const e = evalOne as (c: unknown) => Promise<boolean>;
  return {
    scenario,
    name,
    n,
    note,
    async warm() {
      await loop(e, make, freshIds(Math.min(n, 5_000)));
    },
    async pass() {
      const ids = freshIds(n);
      const t0 = process.hrtime.bigint();
      const on = await loop(e, make, ids);
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      return { ops: n / dt, share: on / n };
    },
  };
}

const row = (x: Subject, r: { ops: number; share: number }): BenchRow => ({
  group: GROUPS[x.scenario],
  subject: x.name,
  opsPerSec: r.ops,
  note: `${x.n.toLocaleString("en-US")} never-repeating ids per pass, fresh context per call, ${(r.share * 100).toFixed(1)}% on${x.note ? `; ${x.note}` : ""}`,
  ...(x.ours ? { ours: true } : {}),
});

/** The 20 rules of scenario (d): single-attribute tests of every common kind; about 5% of users match one. */
type MixedOp = "in" | "eq" | "endsWith" | "startsWith" | "contains" | "gt" | "lt" | "semverGt" | "semverLt";
const MIXED: { attr: string; op: MixedOp; values: (string | number)[] }[] = [
  { attr: "country", op: "in", values: ["XX", "YY", "ZZ"] },
  { attr: "plan", op: "eq", values: ["internal"] },
  { attr: "email", op: "endsWith", values: ["@ops.internal"] },
  { attr: "email", op: "startsWith", values: ["admin"] },
  { attr: "age", op: "gt", values: [200] },
  { attr: "age", op: "lt", values: [0] },
  { attr: "version", op: "semverGt", values: ["9.0.0"] },
  { attr: "tenantId", op: "in", values: Array.from({ length: 50 }, (_, k) => `tenant-${k * 20 + 5}`) },
  { attr: "country", op: "eq", values: ["AQ"] },
  { attr: "email", op: "contains", values: ["+test"] },
  { attr: "plan", op: "in", values: ["trial", "partner"] },
  { attr: "age", op: "gt", values: [150] },
  { attr: "email", op: "endsWith", values: [".gov"] },
  { attr: "version", op: "semverLt", values: ["0.0.1"] },
  { attr: "country", op: "in", values: ["KP", "SY"] },
  { attr: "tenantId", op: "eq", values: ["tenant-999999"] },
  { attr: "email", op: "startsWith", values: ["root@"] },
  { attr: "plan", op: "eq", values: ["staff"] },
  { attr: "age", op: "lt", values: [10] },
  { attr: "country", op: "eq", values: ["VA"] },
];
const mixedAttrs = (i: number) => ({
  plan: plan(i),
  tenantId: tenant(i),
  country: country(i),
  version: version(i),
  age: age(i),
  email: email(i),
});

async function ours(n: number): Promise<{ subjects: Subject[]; close: () => Promise<void> }> {
  const stores = memoryStores();
  const c = new FeatureFlagController(stores.flags, "prod", { pollIntervalMs: 0, healthCheckIntervalMs: 0 });
  const who = { actorUserId: "bench", reason: "bench" };
  for (const s of ["a", "b", "c", "d"] as const) await c.setFlag({ key: `flag-${s}`, newValue: false, ...who });
  await c.setRollout({ key: "flag-a", rollout: { percentage: 30 }, ...who });
  await c.setRules({
    key: "flag-b",
    rules: [{ id: "ent", when: [{ attr: "plan", op: "eq", value: "enterprise" }], serve: { rollout: { percentage: 30 } } }],
    ...who,
  });
  await c.setRollout({ key: "flag-c", rollout: { percentage: 30 }, ...who });
  for (const t of OVERRIDDEN) await c.setFlag({ key: "flag-c", newValue: true, tenantId: t, ...who });
  await c.setRules({
    key: "flag-d",
    rules: MIXED.map((r, k) => ({
      id: `r${k}`,
      when: [r.op === "in" ? { attr: r.attr, op: "in" as const, values: r.values } : { attr: r.attr, op: r.op, value: r.values[0]! }],
      serve: { value: true },
    })),
    ...who,
  });
  await c.setRollout({ key: "flag-d", rollout: { percentage: 30 }, ...who });
  const subjects: Subject[] = [];
  const make: Record<Scenario, (id: string, i: number) => Record<string, unknown>> = {
    a: (id) => ({ userId: id }),
    b: (id, i) => ({ userId: id, plan: plan(i) }),
    c: (id, i) => ({ userId: id, tenantId: tenant(i) }),
    d: (id, i) => ({ userId: id, ...mixedAttrs(i) }),
  };
  for (const s of ["a", "b", "c", "d"] as const) {
    const key = `flag-${s}`;
    subjects.push(sync(s, "@ops/flags isEnabled()", n, make[s], (ctx) => c.isEnabled(key, ctx), "sync, precompiled", true));
    subjects.push(
      sync(
        s,
        "@ops/flags evaluate() (details)",
        n,
        make[s],
        (ctx) => c.evaluate(key, ctx).value === true,
        "value, variant, reason, ruleId",
      ),
    );
  }
  return { subjects, close: () => c.close() };
}

async function unleash(n: number): Promise<{ subjects: Subject[]; close: () => Promise<void> }> {
  const rollout = {
    name: "flexibleRollout",
    parameters: { rollout: "30", stickiness: "userId", groupId: "x" },
    constraints: [] as unknown[],
  };
  const UNLEASH_OPS: Record<MixedOp, string> = {
    in: "IN",
    eq: "IN",
    endsWith: "STR_ENDS_WITH",
    startsWith: "STR_STARTS_WITH",
    contains: "STR_CONTAINS",
    gt: "NUM_GT",
    lt: "NUM_LT",
    semverGt: "SEMVER_GT",
    semverLt: "SEMVER_LT",
  };
  const constraint = (r: (typeof MIXED)[number]) =>
    r.op === "in" || r.op === "eq" || r.op === "endsWith" || r.op === "startsWith" || r.op === "contains"
      ? { contextName: r.attr, operator: UNLEASH_OPS[r.op], values: r.values.map(String) }
      : { contextName: r.attr, operator: UNLEASH_OPS[r.op], value: String(r.values[0]) };
  const data = [
    { name: "flag-a", enabled: true, strategies: [rollout] },
    {
      name: "flag-b",
      enabled: true,
      strategies: [{ ...rollout, constraints: [{ contextName: "plan", operator: "IN", values: ["enterprise"] }] }],
    },
    {
      name: "flag-c",
      enabled: true,
      strategies: [
        { name: "default", parameters: {}, constraints: [{ contextName: "tenantId", operator: "IN", values: OVERRIDDEN }] },
        rollout,
      ],
    },
    {
      name: "flag-d",
      enabled: true,
      strategies: [...MIXED.map((r) => ({ name: "default", parameters: {}, constraints: [constraint(r)] })), rollout],
    },
  ];
  const u = new Unleash({
    appName: "ops-bench",
    url: "http://127.0.0.1:9/api/",
    refreshInterval: 0,
    disableMetrics: true,
    skipInstanceCountWarning: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: data as never },
  });
  u.on("error", () => {});
  u.on("warn", () => {});
  await new Promise<void>((resolve) => u.once("ready", () => resolve()));
  const S = "unleash-client 6.12.1";
  const subjects = [
    sync(
      "a",
      S,
      n,
      (id) => ({ userId: id }),
      (ctx) => u.isEnabled("flag-a", ctx),
    ),
    sync(
      "b",
      S,
      n,
      (id, i) => ({ userId: id, properties: { plan: plan(i) } }),
      (ctx) => u.isEnabled("flag-b", ctx),
    ),
    sync(
      "c",
      S,
      n,
      (id, i) => ({ userId: id, properties: { tenantId: tenant(i) } }),
      (ctx) => u.isEnabled("flag-c", ctx),
    ),
    sync(
      "d",
      S,
      n,
      (id, i) => ({ userId: id, properties: mixedAttrs(i) }),
      (ctx) => u.isEnabled("flag-d", ctx as never),
    ),
  ];
  return { subjects, close: async () => u.destroy() };
}

async function growthbook(n: number): Promise<{ subjects: Subject[]; close: () => Promise<void> }> {
  const roll = { force: true, coverage: 0.3, hashAttribute: "id" };
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const cond = (r: (typeof MIXED)[number]): Record<string, unknown> => {
    const v = r.values[0]!;
    switch (r.op) {
      case "in":
        return { [r.attr]: { $in: r.values } };
      case "eq":
        return { [r.attr]: v };
      case "endsWith":
        return { [r.attr]: { $regex: `${esc(String(v))}$` } };
      case "startsWith":
        return { [r.attr]: { $regex: `^${esc(String(v))}` } };
      case "contains":
        return { [r.attr]: { $regex: esc(String(v)) } };
      case "gt":
        return { [r.attr]: { $gt: v } };
      case "lt":
        return { [r.attr]: { $lt: v } };
      case "semverGt":
        return { [r.attr]: { $vgt: v } };
      case "semverLt":
        return { [r.attr]: { $vlt: v } };
    }
  };
  const gb = new GrowthBookClient();
  await gb.init({
    payload: {
      features: {
        "flag-a": { defaultValue: false, rules: [roll] },
        "flag-b": { defaultValue: false, rules: [{ ...roll, condition: { plan: "enterprise" } }] },
        "flag-c": { defaultValue: false, rules: [{ force: true, condition: { tenantId: { $in: OVERRIDDEN } } }, roll] },
        "flag-d": { defaultValue: false, rules: [...MIXED.map((r) => ({ force: true, condition: cond(r) })), roll] },
      },
    } as never,
  });
  const S = "@growthbook/growthbook 1.8.0 GrowthBookClient";
  const subjects = [
    sync(
      "a",
      S,
      n,
      (id) => ({ attributes: { id } }),
      (ctx) => gb.isOn("flag-a", ctx),
    ),
    sync(
      "b",
      S,
      n,
      (id, i) => ({ attributes: { id, plan: plan(i) } }),
      (ctx) => gb.isOn("flag-b", ctx),
    ),
    sync(
      "c",
      S,
      n,
      (id, i) => ({ attributes: { id, tenantId: tenant(i) } }),
      (ctx) => gb.isOn("flag-c", ctx),
    ),
    sync(
      "d",
      S,
      n,
      (id, i) => ({ attributes: { id, ...mixedAttrs(i) } }),
      (ctx) => gb.isOn("flag-d", ctx),
    ),
  ];
  return { subjects, close: async () => {} };
}

async function openfeature(n: number): Promise<{ subjects: Subject[]; close: () => Promise<void> }> {
  // InMemoryProvider has no rollouts or rules: the app supplies them as a context evaluator.
  const inRollout = (id: unknown) => typeof id === "string" && murmur3(`x:${id}`) % 100 < 30;
  const overridden = new Set(OVERRIDDEN);
  const mixed = (ctx: Record<string, unknown>) =>
    MIXED.some((r) => {
      const a = ctx[r.attr];
      const v = r.values[0]!;
      if (r.op === "in") return r.values.includes(a as string);
      if (r.op === "eq") return a === v;
      if (typeof a === "number") return r.op === "gt" ? a > (v as number) : r.op === "lt" ? a < (v as number) : false;
      if (typeof a !== "string") return false;
      if (r.op === "endsWith") return a.endsWith(v as string);
      if (r.op === "startsWith") return a.startsWith(v as string);
      if (r.op === "contains") return a.includes(v as string);
      return false; // no semver in the app's evaluator: an advantage for this peer
    });
  const flag = (evaluator: (ctx: Record<string, unknown>) => "on" | "off") => ({
    disabled: false,
    variants: { on: true, off: false },
    defaultVariant: "off",
    contextEvaluator: evaluator,
  });
  await OpenFeature.setProviderAndWait(
    "bench",
    new InMemoryProvider({
      "flag-a": flag((ctx) => (inRollout(ctx.targetingKey) ? "on" : "off")),
      "flag-b": flag((ctx) => (ctx.plan === "enterprise" && inRollout(ctx.targetingKey) ? "on" : "off")),
      "flag-c": flag((ctx) => (overridden.has(ctx.tenantId as string) || inRollout(ctx.targetingKey) ? "on" : "off")),
      "flag-d": flag((ctx) => (mixed(ctx) || inRollout(ctx.targetingKey) ? "on" : "off")),
    } as never),
  );
  const client = OpenFeature.getClient("bench");
  const m = Math.min(Math.floor(n / 10), 100_000);
  const note = m < n ? `async API; ${m.toLocaleString("en-US")} of the ids (slow)` : "async API";
  const S = "@openfeature/server-sdk 1.23.0 InMemoryProvider";
  const subjects = [
    async_(
      "a",
      S,
      m,
      (id) => ({ targetingKey: id }),
      (ctx) => client.getBooleanValue("flag-a", false, ctx),
      note,
    ),
    async_(
      "b",
      S,
      m,
      (id, i) => ({ targetingKey: id, plan: plan(i) }),
      (ctx) => client.getBooleanValue("flag-b", false, ctx),
      note,
    ),
    async_(
      "c",
      S,
      m,
      (id, i) => ({ targetingKey: id, tenantId: tenant(i) }),
      (ctx) => client.getBooleanValue("flag-c", false, ctx),
      note,
    ),
    async_(
      "d",
      S,
      m,
      (id, i) => ({ targetingKey: id, ...mixedAttrs(i) }),
      (ctx) => client.getBooleanValue("flag-d", false, ctx),
      note,
    ),
  ];
  return { subjects, close: () => OpenFeature.clearProviders() };
}

async function launchdarkly(n: number): Promise<{ subjects: Subject[]; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "ops-bench-ld-"));
  const rollout = {
    rollout: {
      variations: [
        { variation: 0, weight: 30_000 },
        { variation: 1, weight: 70_000 },
      ],
    },
  };
  const base = { on: true, version: 1, salt: "s", variations: [true, false], offVariation: 1, targets: [], prerequisites: [] };
  const clause = (attribute: string, values: unknown[], op = "in") => ({ attribute, op, values, contextKind: "user", negate: false });
  const LD_OPS: Record<MixedOp, string> = {
    in: "in",
    eq: "in",
    endsWith: "endsWith",
    startsWith: "startsWith",
    contains: "contains",
    gt: "greaterThan",
    lt: "lessThan",
    semverGt: "semVerGreaterThan",
    semverLt: "semVerLessThan",
  };
  const flags = {
    "flag-a": { ...base, key: "flag-a", rules: [], fallthrough: rollout },
    "flag-b": {
      ...base,
      key: "flag-b",
      rules: [{ id: "ent", clauses: [clause("plan", ["enterprise"])], ...rollout }],
      fallthrough: { variation: 1 },
    },
    "flag-c": {
      ...base,
      key: "flag-c",
      rules: [{ id: "t", clauses: [clause("tenantId", OVERRIDDEN)], variation: 0 }],
      fallthrough: rollout,
    },
    "flag-d": {
      ...base,
      key: "flag-d",
      rules: MIXED.map((r, k) => ({ id: `r${k}`, clauses: [clause(r.attr, r.values, LD_OPS[r.op])], variation: 0 })),
      fallthrough: rollout,
    },
  };
  const file = join(dir, "flags.json");
  writeFileSync(file, JSON.stringify({ flags }));
  const client: LDClient = ldInit("sdk-bench", {
    updateProcessor: new integrations.FileDataSourceFactory({ paths: [file] }).getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: { error() {}, warn() {}, info() {}, debug() {} },
  });
  await client.waitForInitialization({ timeout: 10 });
  const m = Math.min(Math.floor(n * 0.3), 300_000);
  const note = m < n ? `async API; ${m.toLocaleString("en-US")} ids per pass` : "async API";
  const ev = (key: string) => async (ctx: Record<string, unknown>) => (await client.variation(key, ctx as never, false)) === true;
  const S = "@launchdarkly/node-server-sdk 9.13.7";
  const subjects = [
    async_("a", S, m, (id) => ({ kind: "user", key: id }), ev("flag-a"), note),
    async_("b", S, m, (id, i) => ({ kind: "user", key: id, plan: plan(i) }), ev("flag-b"), note),
    async_("c", S, m, (id, i) => ({ kind: "user", key: id, tenantId: tenant(i) }), ev("flag-c"), note),
    async_("d", S, m, (id, i) => ({ kind: "user", key: id, ...mixedAttrs(i) }), ev("flag-d"), note),
  ];
  return {
    subjects,
    close: async () => {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const flagsBench: BenchCase = {
  name: "flags",
  async run({ quick }) {
    // OPS_BENCH_FLAGS_N overrides the ids per pass (a loaded machine runs the full size for an hour).
    const n = Number(process.env.OPS_BENCH_FLAGS_N) || (quick ? 100_000 : 1_000_000);
    const rounds = quick ? 3 : 5;
    const systems = [await ours(n), await growthbook(n), await unleash(n), await launchdarkly(n), await openfeature(n)];
    const rows: BenchRow[] = [];
    try {
      // Interleaved rounds: each round times every subject of a scenario once, in rotating order,
      // so load drifting during the run hits every subject alike; the median round is reported.
      // OPS_BENCH_FLAGS_SCENARIOS=a,c runs only those scenarios (profiling one path).
      const pick = process.env.OPS_BENCH_FLAGS_SCENARIOS?.split(",").map((x) => x.trim());
      for (const s of (Object.keys(GROUPS) as Scenario[]).filter((x) => !pick || pick.includes(x))) {
        const subjects = systems.flatMap((x) => x.subjects).filter((x) => x.scenario === s);
        for (const x of subjects) await x.warm();
        const results = subjects.map(() => [] as { ops: number; share: number }[]);
        for (let r = 0; r < rounds; r++)
          for (let j = 0; j < subjects.length; j++) {
            const k = (j + r) % subjects.length;
            results[k]!.push(await subjects[k]!.pass());
          }
        subjects.forEach((x, k) => {
          const sorted = results[k]!.sort((p, q) => p.ops - q.ops);
          rows.push(row(x, sorted[Math.floor(sorted.length / 2)]!));
        });
      }
    } finally {
      for (const x of systems) await x.close();
    }
    return rows;
  },
};

export default flagsBench;
