import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init as ldInit, integrations, type LDClient } from "@launchdarkly/node-server-sdk";
import { InMemStorageProvider, Unleash } from "unleash-client";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController, applyImport, importFlagd, importLaunchDarkly, importUnleash } from "@ops/flags";

const fixture = (name: string) => join(import.meta.dirname, "fixtures/import", name);
const load = (name: string): unknown => JSON.parse(readFileSync(fixture(name), "utf8"));
const who = { actorUserId: "migrator", reason: "import" };
const N = 100_000;
const ids = (i: number) => (i % 1000 === 999 ? `ユーザー-${i}` : `user-${i}`);

async function controllerWith(result: Parameters<typeof applyImport>[1]) {
  const c = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0, usageFlushMs: 0 });
  await c.ready();
  const applied = await applyImport(c, result, who);
  expect(applied.failed).toEqual([]);
  return c;
}

describe("import from Unleash (unleash-client's bootstrap / client features format)", () => {
  const source = load("unleash-client-features.json") as { features: unknown[]; segments: unknown[] };
  let unleash: Unleash;
  beforeAll(async () => {
    unleash = new Unleash({
      appName: "ops-import",
      url: "http://127.0.0.1:9/api/",
      refreshInterval: 0,
      disableMetrics: true,
      skipInstanceCountWarning: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: { data: source.features as never, segments: source.segments as never },
    });
    unleash.on("error", () => {});
    unleash.on("warn", () => {});
    await new Promise<void>((resolve) => unleash.once("ready", () => resolve()));
  });
  afterAll(() => unleash.destroy());

  it("maps strategies to rules in the unleash bucketing mode and reports what it could not map", () => {
    const r = importUnleash(source);
    expect(r.flags.map((f) => f.key)).toEqual([
      "checkout.new-flow",
      "eu-banner",
      "kill-switched",
      "everyone",
      "odd-strategy",
      "checkout.child",
      "no-banner-offer",
      "needs-killed",
    ]);
    // Dependent features become prerequisites (the parent enabled, or with `enabled: false` not).
    expect(r.flags.find((f) => f.key === "no-banner-offer")!.patch.prerequisites).toEqual([
      { key: "eu-banner", value: true, negate: true },
      { key: "everyone", value: true },
    ]);
    const checkout = r.flags[0]!;
    expect(checkout.patch.rules?.[1]).toMatchObject({
      when: [{ attr: "plan", op: "in", values: ["pro", "enterprise"] }],
      serve: { rollout: { percentage: 30, by: "userId", bucketing: { mode: "unleash", groupId: "checkout" } } },
    });
    expect(
      r.unmapped
        .filter((u) => u.flag === "odd-strategy")
        .map((u) => u.reason)
        .join(" | "),
    ).toMatch(/applicationHostname.*OR|OR.*applicationHostname/s);
    expect(r.unmapped.some((u) => u.flag === "odd-strategy" && u.path === "variants")).toBe(true);
  });

  it(`evaluates like unleash-client for ${N.toLocaleString("en")} ids`, async () => {
    const c = await controllerWith(importUnleash(source));
    const plans = ["free", "pro", "enterprise"];
    const regions = ["eu-west", "us-east", "eu-central"];
    const keys = ["checkout.new-flow", "eu-banner", "kill-switched", "everyone", "checkout.child", "no-banner-offer", "needs-killed"];
    let mismatches = 0;
    let on = 0;
    for (let i = 0; i < N; i++) {
      const userId = ids(i);
      const plan = plans[i % 3]!;
      const region = regions[(i >> 2) % 3]!;
      for (const key of keys) {
        const theirs = unleash.isEnabled(key, { userId, properties: { plan, region } });
        const ours = c.isEnabled(key as never, { userId, plan, region });
        if (theirs !== ours) mismatches++;
        if (ours) on++;
      }
    }
    expect(mismatches).toBe(0);
    expect(on).toBeGreaterThan(N); // the flags really vary
    await c.close();
  }, 300_000);

  it("reads an admin export for one environment", () => {
    const prod = importUnleash(load("unleash-admin-export.json"), { environment: "production" });
    expect(prod.flags[0]).toMatchObject({
      key: "search-v2",
      patch: { enabled: true, rules: [{ serve: { rollout: { percentage: 20 } } }] },
    });
    const dev = importUnleash(load("unleash-admin-export.json"), { environment: "development" });
    expect(dev.flags[0]!.patch.rules).toEqual([{ id: "s0", when: [], segments: [], serve: { value: true } }]);
  });
});

describe("import from LaunchDarkly (file data source format)", () => {
  let client: LDClient;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ops-ld-import-"));
    client = ldInit("sdk-import", {
      updateProcessor: new integrations.FileDataSourceFactory({ paths: [fixture("launchdarkly-flags.json")] }).getFactory(),
      sendEvents: false,
      diagnosticOptOut: true,
      logger: { error() {}, warn() {}, info() {}, debug() {} },
    });
    await client.waitForInitialization({ timeout: 10 });
  });
  afterAll(() => {
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("maps variations, targets, rules, rollouts and prerequisites; reports segments", () => {
    const r = importLaunchDarkly(load("launchdarkly-flags.json"));
    const pricing = r.flags.find((f) => f.key === "pricing-page")!;
    expect(pricing.patch.rollout).toMatchObject({ by: "userId", bucketing: { mode: "launchdarkly", ldSalt: "a1b2c3", ldSeed: 8675309 } });
    expect(r.flags.find((f) => f.key === "simple-limit")).toMatchObject({ type: "number", value: 25 });
    expect(r.unmapped.map((u) => `${u.flag}:${u.path}`)).toEqual(expect.arrayContaining(["legacy-off:rules[0]"]));
    expect(r.flags.find((f) => f.key === "gated-pricing")!.patch.prerequisites).toEqual([
      { key: "pricing-page", variants: ["v1"] },
      { key: "dark-mode", variants: ["v0"] },
    ]);
  });

  it(`evaluates like the LaunchDarkly SDK for ${N.toLocaleString("en")} ids`, async () => {
    const c = await controllerWith(importLaunchDarkly(load("launchdarkly-flags.json")));
    const plans = ["free", "enterprise", "team"];
    const countries = ["DE", "US", "AT", "FR"];
    const keys = {
      "pricing-page": "none",
      "dark-mode": null,
      "legacy-off": 0,
      "simple-limit": 0,
      "gated-pricing": 0,
      "gated-chain": 0,
    } as const;
    const reasons = new Map<string, number>();
    let mismatches = 0;
    const samples: string[] = [];
    for (let i = 0; i < N; i++) {
      const key = ids(i);
      const plan = plans[i % 3]!;
      const country = countries[(i >> 1) % 4]!;
      const email = i % 7 === 0 ? `${key}@example.com` : `${key}@other.org`;
      const all = await client.allFlagsState({ kind: "user", key, plan, country, email }, { withReasons: true });
      for (const flag of Object.keys(keys)) {
        const theirs = all.getFlagValue(flag);
        const d = c.evaluate(flag, { userId: key, plan, country, email });
        const ours = d.value;
        reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
        // LaunchDarkly's reason kind for a failed prerequisite is the same string.
        if (d.reason === "PREREQUISITE_FAILED" && all.getFlagReason(flag)?.kind !== "PREREQUISITE_FAILED") mismatches++;
        if (JSON.stringify(theirs) !== JSON.stringify(ours)) {
          mismatches++;
          if (samples.length < 5) samples.push(`${flag} ${key}: ld=${JSON.stringify(theirs)} ops=${JSON.stringify(ours)}`);
        }
      }
    }
    expect(samples).toEqual([]);
    expect(mismatches).toBe(0);
    expect(reasons.get("PREREQUISITE_FAILED")).toBeGreaterThan(N / 10);
    await c.close();
  }, 600_000);
});

describe("import from flagd (flag definition file)", () => {
  it("maps if-chains to rules, keeps variants, maps fractional to the flagd bucketing mode", async () => {
    const r = importFlagd(load("flagd-flags.json"));
    // Only the note that flagd hashes a context without `email` as the flag key alone.
    expect(r.unmapped.map((u) => `${u.flag}:${u.path}`)).toEqual(["split-test:targeting.fractional"]);
    expect(r.flags.find((f) => f.key === "split-test")!.patch.rules![0]!.serve.rollout).toMatchObject({
      by: "email",
      bucketing: { mode: "flagd", salt: "split-test", flagdWeights: [50, 50] },
    });
    const c = await controllerWith(r);
    expect(c.evaluate("header-color", { email: "a@faas.com" })).toMatchObject({ value: "#0000ff", variant: "blue" });
    expect(c.evaluate("header-color", { email: "a@x.io", locale: "de" })).toMatchObject({ value: "#00ff00", variant: "green" });
    expect(c.evaluate("header-color", { email: "a@x.io", locale: "en" })).toMatchObject({ value: "#ff0000", variant: "red" });
    expect(c.evaluate("new-welcome-message", {})).toMatchObject({ value: true, variant: "on" });
    expect(c.evaluate("app-version-gate", { version: "2.1.0", tier: "gold" }).value).toBe(true);
    expect(c.evaluate("app-version-gate", { version: "1.9.9", tier: "gold" }).value).toBe(false);
    expect(c.evaluate("app-version-gate", { version: "2.1.0", tier: "silver" }).value).toBe(false);
    expect(c.evaluate("retired", {}).reason).toBe("DISABLED");
    expect(c.evaluate("split-test", { email: "x" })).toMatchObject({ reason: "SPLIT" });
    expect(c.evaluate("split-test", {})).toMatchObject({ value: "a", variant: "a", reason: "DEFAULT" });
    await c.close();
  });
});
