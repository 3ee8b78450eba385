// Flag evaluation, side by side in one run: @ops/flags against unleash-client, GrowthBook
// (GrowthBookClient), OpenFeature (InMemoryProvider) and LaunchDarkly (file data source, events
// off). Every system evaluates the same flag over the same distinct user ids; contexts are built
// before timing, in each system's own shape, so only evaluation is measured.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrowthBookClient } from "@growthbook/growthbook";
import { init as ldInit, integrations, type LDClient } from "@launchdarkly/node-server-sdk";
import { InMemoryProvider, OpenFeature } from "@openfeature/server-sdk";
import { InMemStorageProvider, Unleash } from "unleash-client";
import { memoryStores } from "@ops/adapter-memory";
import { FeatureFlagController, murmur3 } from "@ops/flags";
import { measureOps, type BenchCase, type BenchRow } from "../types.js";

type Scenario = "a" | "b" | "c";
const GROUPS: Record<Scenario, string> = {
  a: "flags: (a) 30% rollout by user id",
  b: 'flags: (b) plan == "enterprise" + 30% rollout',
  c: "flags: (c) tenant override (100 of 1,000 tenants) + 30% rollout",
};
const TENANTS = 1000;
const OVERRIDDEN = Array.from({ length: 100 }, (_, i) => `tenant-${i * 10}`);

const user = (i: number) => `user-${i}`;
const plan = (i: number) => (i % 2 === 0 ? "enterprise" : "free");
const tenant = (i: number) => `tenant-${i % TENANTS}`;

/** Runs `evalOne` over n pre-built contexts; returns ops/s (median) and the share of `true`. */
async function timeSync<C>(n: number, runs: number, build: (i: number) => C, evalOne: (c: C) => boolean): Promise<{ ops: number; share: number }> {
  const ctxs = Array.from({ length: n }, (_, i) => build(i));
  let on = 0;
  for (let i = 0; i < Math.min(n, 20_000); i++) evalOne(ctxs[i]!); // warm-up (JIT)
  const ops = await measureOps(n, runs, (m) => {
    on = 0;
    for (let i = 0; i < m; i++) if (evalOne(ctxs[i]!)) on++;
  });
  return { ops, share: on / n };
}

async function timeAsync<C>(n: number, runs: number, build: (i: number) => C, evalOne: (c: C) => Promise<boolean>): Promise<{ ops: number; share: number }> {
  const ctxs = Array.from({ length: n }, (_, i) => build(i));
  let on = 0;
  for (let i = 0; i < Math.min(n, 5_000); i++) await evalOne(ctxs[i]!);
  const ops = await measureOps(n, runs, async (m) => {
    on = 0;
    for (let i = 0; i < m; i++) if (await evalOne(ctxs[i]!)) on++;
  });
  return { ops, share: on / n };
}

const row = (s: Scenario, subject: string, r: { ops: number; share: number }, n: number, extra = "", ours = false): BenchRow => ({
  group: GROUPS[s],
  subject,
  opsPerSec: r.ops,
  note: `${n.toLocaleString("en-US")} distinct ids, ${(r.share * 100).toFixed(1)}% on${extra ? `; ${extra}` : ""}`,
  ...(ours ? { ours: true } : {}),
});

async function ours(n: number, runs: number): Promise<BenchRow[]> {
  const stores = memoryStores();
  const c = new FeatureFlagController(stores.flags, "prod", { pollIntervalMs: 0 });
  const who = { actorUserId: "bench", reason: "bench" };
  for (const s of ["a", "b", "c"] as const) await c.setFlag({ key: `flag-${s}`, newValue: false, ...who });
  await c.setRollout({ key: "flag-a", rollout: { percentage: 30 }, ...who });
  await c.setRules({ key: "flag-b", rules: [{ id: "ent", when: [{ attr: "plan", op: "eq", value: "enterprise" }], serve: { rollout: { percentage: 30 } } }], ...who });
  await c.setRollout({ key: "flag-c", rollout: { percentage: 30 }, ...who });
  for (const t of OVERRIDDEN) await c.setFlag({ key: "flag-c", newValue: true, tenantId: t, ...who });
  const rows: BenchRow[] = [];
  for (const s of ["a", "b", "c"] as const) {
    const key = `flag-${s}`;
    const build = (i: number) => (s === "a" ? { userId: user(i) } : s === "b" ? { userId: user(i), plan: plan(i) } : { userId: user(i), tenantId: tenant(i) });
    rows.push(row(s, "@ops/flags isEnabled()", await timeSync(n, runs, build, (ctx) => c.isEnabled(key, ctx)), n, "sync, precompiled", true));
    rows.push(row(s, "@ops/flags evaluate() (details)", await timeSync(n, runs, build, (ctx) => c.evaluate(key, ctx).value === true), n, "value, variant, reason, ruleId"));
  }
  await c.close();
  return rows;
}

async function unleash(n: number, runs: number): Promise<BenchRow[]> {
  const rollout = { name: "flexibleRollout", parameters: { rollout: "30", stickiness: "userId", groupId: "x" }, constraints: [] as unknown[] };
  const data = [
    { name: "flag-a", enabled: true, strategies: [rollout] },
    { name: "flag-b", enabled: true, strategies: [{ ...rollout, constraints: [{ contextName: "plan", operator: "IN", values: ["enterprise"] }] }] },
    {
      name: "flag-c",
      enabled: true,
      strategies: [{ name: "default", parameters: {}, constraints: [{ contextName: "tenantId", operator: "IN", values: OVERRIDDEN }] }, rollout],
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
  const rows = [
    row("a", "unleash-client 6.12.1", await timeSync(n, runs, (i) => ({ userId: user(i) }), (ctx) => u.isEnabled("flag-a", ctx)), n),
    row("b", "unleash-client 6.12.1", await timeSync(n, runs, (i) => ({ userId: user(i), properties: { plan: plan(i) } }), (ctx) => u.isEnabled("flag-b", ctx)), n),
    row("c", "unleash-client 6.12.1", await timeSync(n, runs, (i) => ({ userId: user(i), properties: { tenantId: tenant(i) } }), (ctx) => u.isEnabled("flag-c", ctx)), n),
  ];
  u.destroy();
  return rows;
}

async function growthbook(n: number, runs: number): Promise<BenchRow[]> {
  const roll = { force: true, coverage: 0.3, hashAttribute: "id" };
  const gb = new GrowthBookClient();
  await gb.init({
    payload: {
      features: {
        "flag-a": { defaultValue: false, rules: [roll] },
        "flag-b": { defaultValue: false, rules: [{ ...roll, condition: { plan: "enterprise" } }] },
        "flag-c": { defaultValue: false, rules: [{ force: true, condition: { tenantId: { $in: OVERRIDDEN } } }, roll] },
      },
    } as never,
  });
  return [
    row("a", "@growthbook/growthbook 1.8.0 GrowthBookClient", await timeSync(n, runs, (i) => ({ attributes: { id: user(i) } }), (ctx) => gb.isOn("flag-a", ctx)), n),
    row("b", "@growthbook/growthbook 1.8.0 GrowthBookClient", await timeSync(n, runs, (i) => ({ attributes: { id: user(i), plan: plan(i) } }), (ctx) => gb.isOn("flag-b", ctx)), n),
    row("c", "@growthbook/growthbook 1.8.0 GrowthBookClient", await timeSync(n, runs, (i) => ({ attributes: { id: user(i), tenantId: tenant(i) } }), (ctx) => gb.isOn("flag-c", ctx)), n),
  ];
}

async function openfeature(n: number, runs: number): Promise<BenchRow[]> {
  // InMemoryProvider has no rollouts: the app supplies them as a context evaluator (murmur3 here).
  const inRollout = (id: unknown) => typeof id === "string" && murmur3(`x:${id}`) % 100 < 30;
  const overridden = new Set(OVERRIDDEN);
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
    } as never),
  );
  const client = OpenFeature.getClient("bench");
  const m = Math.min(n, 100_000);
  const note = m < n ? `async API; ${m.toLocaleString("en-US")} of the ids (slow)` : "async API";
  const rows = [
    row("a", "@openfeature/server-sdk 1.23.0 InMemoryProvider", await timeAsync(m, runs, (i) => ({ targetingKey: user(i) }), (ctx) => client.getBooleanValue("flag-a", false, ctx)), m, note),
    row("b", "@openfeature/server-sdk 1.23.0 InMemoryProvider", await timeAsync(m, runs, (i) => ({ targetingKey: user(i), plan: plan(i) }), (ctx) => client.getBooleanValue("flag-b", false, ctx)), m, note),
    row("c", "@openfeature/server-sdk 1.23.0 InMemoryProvider", await timeAsync(m, runs, (i) => ({ targetingKey: user(i), tenantId: tenant(i) }), (ctx) => client.getBooleanValue("flag-c", false, ctx)), m, note),
  ];
  await OpenFeature.clearProviders();
  return rows;
}

async function launchdarkly(n: number, runs: number): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "ops-bench-ld-"));
  const rollout = { rollout: { variations: [{ variation: 0, weight: 30_000 }, { variation: 1, weight: 70_000 }] } };
  const base = { on: true, version: 1, salt: "s", variations: [true, false], offVariation: 1, targets: [], prerequisites: [] };
  const clause = (attribute: string, values: string[]) => ({ attribute, op: "in", values, contextKind: "user", negate: false });
  const flags = {
    "flag-a": { ...base, key: "flag-a", rules: [], fallthrough: rollout },
    "flag-b": { ...base, key: "flag-b", rules: [{ id: "ent", clauses: [clause("plan", ["enterprise"])], ...rollout }], fallthrough: { variation: 1 } },
    "flag-c": { ...base, key: "flag-c", rules: [{ id: "t", clauses: [clause("tenantId", OVERRIDDEN)], variation: 0 }], fallthrough: rollout },
  };
  const file = join(dir, "flags.json");
  writeFileSync(file, JSON.stringify({ flags }));
  const client: LDClient = ldInit("sdk-bench", {
    updateProcessor: new integrations.FileDataSourceFactory({ paths: [file] }).getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: { error() {}, warn() {}, info() {}, debug() {} },
  });
  try {
    await client.waitForInitialization({ timeout: 10 });
    const m = Math.min(n, 300_000);
    const note = m < n ? `async API; ${m.toLocaleString("en-US")} of the ids` : "async API";
    const ev = (key: string) => async (ctx: Record<string, unknown>) => (await client.variation(key, ctx as never, false)) === true;
    return [
      row("a", "@launchdarkly/node-server-sdk 9.13.7", await timeAsync(m, runs, (i) => ({ kind: "user", key: user(i) }), ev("flag-a")), m, note),
      row("b", "@launchdarkly/node-server-sdk 9.13.7", await timeAsync(m, runs, (i) => ({ kind: "user", key: user(i), plan: plan(i) }), ev("flag-b")), m, note),
      row("c", "@launchdarkly/node-server-sdk 9.13.7", await timeAsync(m, runs, (i) => ({ kind: "user", key: user(i), tenantId: tenant(i) }), ev("flag-c")), m, note),
    ];
  } finally {
    client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const flagsBench: BenchCase = {
  name: "flags",
  async run({ quick }) {
    const n = quick ? 100_000 : 1_000_000;
    const runs = quick ? 3 : 5;
    const peerRuns = quick ? 1 : 3;
    const rows: BenchRow[] = [...(await ours(n, runs))];
    rows.push(...(await growthbook(n, peerRuns)));
    rows.push(...(await unleash(n, peerRuns)));
    rows.push(...(await launchdarkly(n, peerRuns)));
    rows.push(...(await openfeature(n, peerRuns)));
    // Group rows by scenario so each table section compares like with like.
    const order = Object.values(GROUPS);
    return rows.sort((x, y) => order.indexOf(x.group) - order.indexOf(y.group));
  },
};

export default flagsBench;
