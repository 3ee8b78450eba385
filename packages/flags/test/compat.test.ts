import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrowthBookClient } from "@growthbook/growthbook";
import { init as ldInit, integrations, type LDClient } from "@launchdarkly/node-server-sdk";
import { InMemStorageProvider, Unleash } from "unleash-client";
import { createBucketer } from "@ops/flags";

// Compatibility modes must put every unit exactly where the real SDK does, ASCII or not.
const UNITS = [
  ...Array.from({ length: 1500 }, (_, i) => `user-${i}`),
  ...["Zoë", "José", "用户-1", "用户-2", "😀-x", "ünïcødé", "Ωmega", "naïve@example.com", "12345", "a"],
];
const PERCENTS = [0, 1, 30, 33, 50, 99, 100];

describe("unleash compatibility (unleash-client 6.12.1, flexibleRollout)", () => {
  let unleash: Unleash;
  beforeAll(async () => {
    unleash = new Unleash({
      appName: "ops-compat",
      url: "http://127.0.0.1:9/api/",
      refreshInterval: 0,
      disableMetrics: true,
      skipInstanceCountWarning: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: {
        data: PERCENTS.map((p) => ({
          name: `rollout-${p}`,
          enabled: true,
          strategies: [
            { name: "flexibleRollout", parameters: { rollout: String(p), stickiness: "userId", groupId: `rollout-${p}` }, constraints: [] },
          ],
        })).concat([
          {
            name: "split",
            enabled: true,
            strategies: [{ name: "default", parameters: {}, constraints: [] }],
            variants: [
              { name: "a", weight: 500, stickiness: "userId", weightType: "variable" },
              { name: "b", weight: 300, stickiness: "userId", weightType: "variable" },
              { name: "c", weight: 200, stickiness: "userId", weightType: "variable" },
            ],
          } as never,
        ]) as never,
      },
    });
    unleash.on("error", () => {});
    unleash.on("warn", () => {});
    await new Promise<void>((resolve) => unleash.once("ready", () => resolve()));
  });
  afterAll(() => unleash.destroy());

  it("includes exactly the same users at every percentage", () => {
    for (const p of PERCENTS) {
      const b = createBucketer(`rollout-${p}`, [p], false, { mode: "unleash" });
      for (const u of UNITS) expect(b.slot(u) === 0, `${p}% ${u}`).toBe(unleash.isEnabled(`rollout-${p}`, { userId: u }));
    }
  });

  it("assigns the same variants (feature variants, weights 500/300/200)", () => {
    const b = createBucketer("split", [50, 30, 20], true, { mode: "unleash" });
    for (const u of UNITS) expect(["a", "b", "c"][b.slot(u)], u).toBe(unleash.getVariant("split", { userId: u }).name);
  });
});

describe("growthbook compatibility (@growthbook/growthbook 1.8.0, GrowthBookClient)", () => {
  const client = new GrowthBookClient();
  beforeAll(async () => {
    const features: Record<string, unknown> = {};
    for (const p of PERCENTS)
      for (const v of [1, 2] as const)
        features[`rollout-${p}-v${v}`] = {
          defaultValue: false,
          rules: [{ force: true, coverage: p / 100, hashAttribute: "id", hashVersion: v }],
        };
    for (const v of [1, 2] as const)
      features[`split-v${v}`] = {
        defaultValue: "none",
        rules: [
          { key: `split-v${v}`, variations: ["a", "b", "c"], weights: [0.5, 0.3, 0.2], coverage: 1, hashAttribute: "id", hashVersion: v },
        ],
      };
    await client.init({ payload: { features } as never });
  });

  it("includes exactly the same users at every percentage, hash versions 1 and 2", () => {
    for (const p of PERCENTS)
      for (const v of [1, 2] as const) {
        const key = `rollout-${p}-v${v}`;
        const b = createBucketer(key, [p], false, { mode: "growthbook", hashVersion: v });
        for (const u of UNITS) expect(b.slot(u) === 0, `${key} ${u}`).toBe(client.isOn(key, { attributes: { id: u } }));
      }
  });

  it("assigns the same experiment variations (weights 50/30/20)", () => {
    for (const v of [1, 2] as const) {
      const b = createBucketer(`split-v${v}`, [50, 30, 20], true, { mode: "growthbook", hashVersion: v });
      for (const u of UNITS)
        expect(["a", "b", "c"][b.slot(u)], u).toBe(client.getFeatureValue(`split-v${v}`, "none", { attributes: { id: u } }));
    }
  });
});

describe("launchdarkly compatibility (@launchdarkly/node-server-sdk 9.13.7, file data source)", () => {
  let client: LDClient;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ops-ld-"));
    const flags: Record<string, unknown> = {};
    for (const p of PERCENTS)
      flags[`rollout-${p}`] = {
        key: `rollout-${p}`,
        on: true,
        version: 1,
        salt: "s4lt",
        variations: [true, false],
        offVariation: 1,
        fallthrough: {
          rollout: {
            variations: [
              { variation: 0, weight: p * 1000 },
              { variation: 1, weight: 100_000 - p * 1000 },
            ],
          },
        },
        rules: [],
        targets: [],
        prerequisites: [],
      };
    flags.split = {
      key: "split",
      on: true,
      version: 1,
      salt: "pepper",
      variations: ["a", "b", "c"],
      offVariation: 0,
      fallthrough: {
        rollout: {
          variations: [
            { variation: 0, weight: 50_000 },
            { variation: 1, weight: 30_000 },
            { variation: 2, weight: 20_000 },
          ],
        },
      },
      rules: [],
      targets: [],
      prerequisites: [],
    };
    const file = join(dir, "flags.json");
    writeFileSync(file, JSON.stringify({ flags }));
    client = ldInit("sdk-compat", {
      updateProcessor: new integrations.FileDataSourceFactory({ paths: [file] }).getFactory(),
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

  it("includes exactly the same users at every percentage", async () => {
    for (const p of PERCENTS) {
      const b = createBucketer(`rollout-${p}`, [p], false, { mode: "launchdarkly", ldSalt: "s4lt" });
      for (const u of UNITS) {
        const ld = await client.variation(`rollout-${p}`, { kind: "user", key: u }, false);
        expect(b.slot(u) === 0, `${p}% ${u}`).toBe(ld);
      }
    }
  });

  it("assigns the same rollout variations (weights 50/30/20)", async () => {
    const b = createBucketer("split", [50, 30, 20], true, { mode: "launchdarkly", ldSalt: "pepper" });
    for (const u of UNITS) expect(["a", "b", "c"][b.slot(u)], u).toBe(await client.variation("split", { kind: "user", key: u }, "none"));
  });
});
