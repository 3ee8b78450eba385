import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { GrowthBookClient } from "@growthbook/growthbook";
import { init as ldInit, integrations, type LDClient } from "@launchdarkly/node-server-sdk";
import { InMemStorageProvider, Unleash } from "unleash-client";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController, type Rollout } from "@ops/flags";

/**
 * The differential compatibility test: the REAL SDKs from npm against our compatibility modes,
 * through the public write + evaluate path, over 100,000 ids of every shape (ASCII, non-ASCII,
 * surrogate pairs, lone surrogates, empty, long) × every configuration shape each SDK accepts.
 * Must show 0 mismatches. Cases it ever found are frozen in compat-vectors.test.ts.
 */

// 100,000 in CI; OPS_DIFF_IDS lowers it for a quick local run (never below the shapes' cycle).
const N = Math.max(64, Number(process.env.OPS_DIFF_IDS ?? 100_000));

/** Deterministic ids of every shape (mulberry32 PRNG, fixed seed). */
function ids(n: number): string[] {
  let a = 0x9e3779b9;
  const rnd = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (s: string) => s[Math.floor(rnd() * s.length)]!;
  const ascii = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@";
  const wide = "äöüßéèñçøåÆŒΩλжЖ用户测试日本語한국어ไทยعربي";
  const astral = ["😀", "🚀", "𝔘", "𠀋", "🏳️‍🌈"];
  const out: string[] = ["", "a", "0", " "];
  for (let i = out.length; i < n; i++) {
    const shape = i % 8;
    let s = "";
    if (shape <= 2) s = `user-${i}`;
    else if (shape === 3) for (let k = 0; k < 4 + (i % 20); k++) s += pick(ascii);
    else if (shape === 4) s = `${pick(wide)}${pick(wide)}-${i}`;
    else if (shape === 5) s = `${astral[i % astral.length]}${i}${astral[(i >> 3) % astral.length]}`;
    else if (shape === 6)
      s = i % 16 === 6 ? `\ud800${i}` : `${i}\udc00`; // lone surrogates
    else s = `${"long-id-".repeat(30 + (i % 40))}${i}`; // 240..560 chars
    out.push(s);
  }
  return out;
}

const IDS = ids(N);
const who = { actorUserId: "diff", reason: "differential test" };

async function ours(flags: Record<string, { value: unknown; rollout: Rollout }>): Promise<FeatureFlagController> {
  const c = new FeatureFlagController(new MemoryFlagStore(), "diff", { pollIntervalMs: 0, healthCheckIntervalMs: 0, usageFlushMs: 0 });
  await c.ready();
  for (const [key, f] of Object.entries(flags)) {
    await c.setFlag({ key, newValue: f.value as never, ...who });
    await c.setRollout({ key, rollout: f.rollout, ...who });
  }
  return c;
}

function report(mismatches: string[], decisions: number, configs: number): void {
  console.log(`differential: ${decisions.toLocaleString("en")} decisions over ${configs} configurations, ${mismatches.length} mismatches`);
  expect(mismatches.slice(0, 20)).toEqual([]);
}

describe("GrowthBook mode vs @growthbook/growthbook 1.8.0", () => {
  interface Cfg {
    rule: Record<string, unknown>;
    rollout: Rollout;
    split: boolean;
  }
  const cfgs: Record<string, Cfg> = {};
  const SEEDS = { absent: undefined, empty: "", custom: "s33d-ü" } as const;
  const force = (name: string, hv: 1 | 2, seed: string | undefined, cov: number | null, range?: [number, number]) => {
    const s = seed === undefined ? {} : { seed };
    const where = range ? { range } : { coverage: cov! };
    cfgs[`f-v${hv}-${name}`] = {
      rule: { force: true, hashAttribute: "id", hashVersion: hv, ...s, ...where },
      rollout: { percentage: range ? 50 : cov! * 100, value: true, bucketing: { mode: "growthbook", hashVersion: hv, ...s, ...where } },
      split: false,
    };
  };
  const experiment = (
    name: string,
    hv: 1 | 2,
    seed: string | undefined,
    rule: Record<string, unknown>,
    pct: number[],
    b: Record<string, unknown>,
  ) => {
    const s = seed === undefined ? {} : { seed };
    const values = ["a", "b", "c"].slice(0, pct.length);
    cfgs[`e-v${hv}-${name}`] = {
      rule: { variations: values, hashAttribute: "id", hashVersion: hv, ...s, ...rule },
      rollout: {
        split: pct.map((w, i) => ({ weight: w, value: values[i]! })),
        bucketing: { mode: "growthbook", hashVersion: hv, ...s, ...b } as never,
      },
      split: true,
    };
  };
  // Seeds (absent, empty: GrowthBook hashes with the feature key; custom) x hash versions.
  for (const hv of [1, 2] as const)
    for (const [sname, seed] of Object.entries(SEEDS)) {
      force(`${sname}-c0.3`, hv, seed, 0.3);
      experiment(`${sname}-w532`, hv, seed, { weights: [0.5, 0.3, 0.2], coverage: 1 }, [50, 30, 20], {
        weights: [0.5, 0.3, 0.2],
        coverage: 1,
      });
    }
  // Coverage edges, ranges, weights (equal, not summing to 1), explicit ranges, one variation.
  for (const [hv, sname] of [
    [2, "absent"],
    [1, "empty"],
  ] as const) {
    const seed = SEEDS[sname];
    for (const cov of [0, 0.001, 0.3333, 0.999, 1]) force(`${sname}-c${cov}`, hv, seed, cov);
    force(`${sname}-range`, hv, seed, null, [0.2, 0.7]);
    experiment(`${sname}-thirds-cov0.6`, hv, seed, { weights: [0.3333, 0.3333, 0.3334], coverage: 0.6 }, [33.33, 33.33, 33.34], {
      weights: [0.3333, 0.3333, 0.3334],
      coverage: 0.6,
    });
    experiment(`${sname}-equal`, hv, seed, {}, [33.33, 33.33, 33.34], { weights: [1 / 3, 1 / 3, 1 / 3], coverage: 1 });
    experiment(`${sname}-bad-sum`, hv, seed, { weights: [0.2, 0.2, 0.1], coverage: 0.8 }, [20, 20, 10], {
      weights: [0.2, 0.2, 0.1],
      coverage: 0.8,
    });
    experiment(
      `${sname}-ranges`,
      hv,
      seed,
      {
        ranges: [
          [0, 0.1],
          [0.5, 0.55],
          [0.9, 1],
        ],
      },
      [10, 5, 10],
      {
        ranges: [
          [0, 0.1],
          [0.5, 0.55],
          [0.9, 1],
        ],
      },
    );
    experiment(`${sname}-one`, hv, seed, { weights: [1] }, [100], {});
  }

  const gb = new GrowthBookClient();
  let c: FeatureFlagController;
  beforeAll(async () => {
    const features: Record<string, unknown> = {};
    for (const [key, f] of Object.entries(cfgs)) features[key] = { defaultValue: f.split ? "none" : false, rules: [f.rule] };
    await gb.init({ payload: { features } as never });
    c = await ours(Object.fromEntries(Object.entries(cfgs).map(([k, f]) => [k, { value: f.split ? "none" : false, rollout: f.rollout }])));
  });
  afterAll(() => c?.close());

  it(`0 mismatches over ${N.toLocaleString("en")} ids × every configuration`, { timeout: 300_000 }, () => {
    const mismatches: string[] = [];
    let decisions = 0;
    // GrowthBook logs every invalid-weights fallback outside production; the decisions are the same.
    const env = process.env.NODE_ENV;
    process.env.NODE_ENV = "production";
    onTestFinished(() => void (process.env.NODE_ENV = env));
    for (const [key, f] of Object.entries(cfgs))
      for (const id of IDS) {
        const theirs = f.split ? gb.getFeatureValue(key, "none", { attributes: { id } }) : gb.isOn(key, { attributes: { id } });
        const mine = c.evaluate(key, { userId: id }).value;
        decisions++;
        if (mine !== theirs) mismatches.push(`${key} ${JSON.stringify(id)}: ours ${String(mine)}, growthbook ${String(theirs)}`);
      }
    report(mismatches, decisions, Object.keys(cfgs).length);
  });
});

describe("LaunchDarkly mode vs @launchdarkly/node-server-sdk 9.13.7", () => {
  interface Cfg {
    flag: Record<string, unknown>;
    rollout: Rollout;
    split: boolean;
  }
  const cfgs: Record<string, Cfg> = {};
  const rollout = (salt: string, seed: number | undefined, p: number) => {
    const w = Math.round(p * 1000);
    const s = seed === undefined ? {} : { seed };
    cfgs[`r-${salt || "nosalt"}-${seed ?? "noseed"}-${p}`] = {
      flag: {
        on: true,
        version: 1,
        salt,
        offVariation: 0,
        rules: [],
        targets: [],
        prerequisites: [],
        variations: [false, true],
        fallthrough: {
          rollout: {
            ...s,
            variations: [
              { variation: 1, weight: w },
              { variation: 0, weight: 100_000 - w },
            ],
          },
        },
      },
      rollout: {
        percentage: p,
        value: true,
        bucketing: { mode: "launchdarkly", ldSalt: salt, ...(seed === undefined ? {} : { ldSeed: seed }) },
      },
      split: false,
    };
  };
  const split = (salt: string, seed: number | undefined, name: string, ws: number[]) => {
    const s = seed === undefined ? {} : { seed };
    cfgs[`s-${salt || "nosalt"}-${seed ?? "noseed"}-${name}`] = {
      flag: {
        on: true,
        version: 1,
        salt,
        offVariation: 0,
        rules: [],
        targets: [],
        prerequisites: [],
        variations: ["a", "b", "c"],
        fallthrough: { rollout: { ...s, variations: ws.map((weight, i) => ({ variation: i, weight })) } },
      },
      rollout: {
        split: ws.map((weight, i) => ({ weight: weight / 1000, value: ["a", "b", "c"][i]! })),
        bucketing: { mode: "launchdarkly", ldSalt: salt, ...(seed === undefined ? {} : { ldSeed: seed }) },
      },
      split: true,
    };
  };
  // Salt x seed (absent; 0, which LaunchDarkly treats as absent; positive; negative; large).
  for (const salt of ["", "s4lt"]) for (const seed of [undefined, 0, 61]) rollout(salt, seed, 30);
  for (const seed of [-7, 123456789]) rollout("s4lt", seed, 30);
  // Percentage edges.
  for (const p of [0, 0.001, 33.333, 100]) rollout("s4lt", undefined, p);
  // Splits: full, short (the rest goes to the last variation), a zero weight first.
  for (const seed of [undefined, 0, -7]) split("pepper", seed, "532", [50_000, 30_000, 20_000]);
  split("", undefined, "short", [40_000, 30_000]);
  split("", 123456789, "zero-first", [0, 60_000, 40_000]);

  let ld: LDClient;
  let dir: string;
  let c: FeatureFlagController;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ops-ld-diff-"));
    const flags: Record<string, unknown> = {};
    for (const [key, f] of Object.entries(cfgs)) flags[key] = { key, ...f.flag };
    writeFileSync(join(dir, "flags.json"), JSON.stringify({ flags }));
    ld = ldInit("sdk-diff", {
      updateProcessor: new integrations.FileDataSourceFactory({ paths: [join(dir, "flags.json")] }).getFactory(),
      sendEvents: false,
      diagnosticOptOut: true,
      logger: { error() {}, warn() {}, info() {}, debug() {} },
    });
    await ld.waitForInitialization({ timeout: 10 });
    // An LD flag that is off (or a context LD rejects) serves its default; ours serves the flag's value.
    c = await ours(Object.fromEntries(Object.entries(cfgs).map(([k, f]) => [k, { value: f.split ? "none" : false, rollout: f.rollout }])));
  }, 60_000);
  afterAll(async () => {
    ld?.close();
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`0 mismatches over ${N.toLocaleString("en")} ids × every configuration`, { timeout: 300_000 }, async () => {
    const mismatches: string[] = [];
    let decisions = 0;
    const keys = Object.keys(cfgs);
    for (const id of IDS) {
      const state = await ld.allFlagsState({ kind: "user", key: id });
      const valid = state.valid;
      const all = state.allValues();
      for (const key of keys) {
        const f = cfgs[key]!;
        // LaunchDarkly rejects a context with an empty key (every flag serves the caller's default);
        // ours has no unit then and serves the flag's default value.
        const theirs = valid ? all[key] : f.split ? "none" : false;
        const mine = c.evaluate(key, { userId: id }).value;
        decisions++;
        if (mine !== theirs) mismatches.push(`${key} ${JSON.stringify(id)}: ours ${String(mine)}, launchdarkly ${String(theirs)}`);
      }
    }
    report(mismatches, decisions, keys.length);
  });
});

describe("Unleash mode vs unleash-client 6.12.1", () => {
  const rollouts: Record<string, { strategy: Record<string, unknown>; rollout: Rollout }> = {};
  for (const p of [0, 1, 30, 33, 50, 99, 100])
    for (const groupId of [undefined, "group-ü"]) {
      const key = `r-${p}-${groupId ? "g" : "nog"}`;
      rollouts[key] = {
        strategy: {
          name: "flexibleRollout",
          parameters: { rollout: String(p), stickiness: "userId", groupId: groupId ?? key },
          constraints: [],
        },
        rollout: { percentage: p, value: true, bucketing: { mode: "unleash", ...(groupId ? { groupId } : {}) } },
      };
    }
  const splits: Record<string, { variants: { name: string; weight: number }[]; rollout: Rollout }> = {
    "v-532": {
      variants: [
        { name: "a", weight: 500 },
        { name: "b", weight: 300 },
        { name: "c", weight: 200 },
      ],
      rollout: {
        split: [
          { weight: 50, value: "a" },
          { weight: 30, value: "b" },
          { weight: 20, value: "c" },
        ],
        bucketing: { mode: "unleash" },
      },
    },
    "v-thirds": {
      variants: [
        { name: "a", weight: 333 },
        { name: "b", weight: 333 },
        { name: "c", weight: 334 },
      ],
      rollout: {
        split: [
          { weight: 33.3, value: "a" },
          { weight: 33.3, value: "b" },
          { weight: 33.4, value: "c" },
        ],
        bucketing: { mode: "unleash" },
      },
    },
  };

  let unleash: Unleash;
  let c: FeatureFlagController;
  beforeAll(async () => {
    unleash = new Unleash({
      appName: "ops-diff",
      url: "http://127.0.0.1:9/api/",
      refreshInterval: 0,
      disableMetrics: true,
      skipInstanceCountWarning: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: {
        data: [
          ...Object.entries(rollouts).map(([name, r]) => ({ name, enabled: true, strategies: [r.strategy] })),
          ...Object.entries(splits).map(([name, s]) => ({
            name,
            enabled: true,
            strategies: [{ name: "default", parameters: {}, constraints: [] }],
            variants: s.variants.map((v) => ({ ...v, stickiness: "userId", weightType: "variable" })),
          })),
        ] as never,
      },
    });
    unleash.on("error", () => {});
    unleash.on("warn", () => {});
    await new Promise<void>((resolve) => unleash.once("ready", () => resolve()));
    c = await ours({
      ...Object.fromEntries(Object.entries(rollouts).map(([k, r]) => [k, { value: false, rollout: r.rollout }])),
      ...Object.fromEntries(Object.entries(splits).map(([k, s]) => [k, { value: "none", rollout: s.rollout }])),
    });
  });
  afterAll(async () => {
    unleash?.destroy();
    await c?.close();
  });

  it(`0 mismatches over ${N.toLocaleString("en")} ids × every configuration`, { timeout: 300_000 }, () => {
    const mismatches: string[] = [];
    let decisions = 0;
    for (const id of IDS) {
      for (const key of Object.keys(rollouts)) {
        const theirs = unleash.isEnabled(key, { userId: id });
        const mine = c.evaluate(key, { userId: id }).value;
        decisions++;
        if (mine !== theirs) mismatches.push(`${key} ${JSON.stringify(id)}: ours ${String(mine)}, unleash ${String(theirs)}`);
      }
      // Unleash picks a RANDOM variant when the stickiness value is empty (Math.random seed):
      // nothing to compare; ours serves no variant then.
      if (id === "") continue;
      for (const key of Object.keys(splits)) {
        const v = unleash.getVariant(key, { userId: id });
        const theirs = v.enabled ? v.name : "none";
        const mine = c.evaluate(key, { userId: id }).value;
        decisions++;
        if (mine !== theirs) mismatches.push(`${key} ${JSON.stringify(id)}: ours ${String(mine)}, unleash ${String(theirs)}`);
      }
    }
    report(mismatches, decisions, Object.keys(rollouts).length + Object.keys(splits).length);
  });
});
