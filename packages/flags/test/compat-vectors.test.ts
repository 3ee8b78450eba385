import { describe, expect, it } from "vitest";
import { createBucketer, type BucketingOptions } from "@ops/flags";

// FROZEN compatibility vectors: every configuration where a compatibility mode once disagreed
// with the real SDK (found by compat-differential.test.ts), with the SDK's answer recorded. They
// run without the SDKs, so a regression shows even where the differential sweep is not run.
// Add a row for every new case the differential test finds; never change an existing row.
const IDS = ["user-1", "user-2", "Zoë", "用户-三", "😀emoji", "\ud800lone", "a", `long-${"x".repeat(300)}`];

const VECTORS: { name: string; flagKey: string; weights: number[]; split: boolean; options: BucketingOptions; slots: number[] }[] = [
  // GrowthBook hashes an empty seed with the feature key (@growthbook/growthbook 1.8.0).
  {
    name: "growthbook empty seed v1",
    flagKey: "gb-empty-v1",
    weights: [33.33, 33.33, 33.34],
    split: true,
    options: { mode: "growthbook", seed: "", hashVersion: 1, weights: [1 / 3, 1 / 3, 1 / 3] },
    slots: [0, 0, 0, 2, 0, 0, 2, 0],
  },
  {
    name: "growthbook empty seed v2",
    flagKey: "gb-empty-v2",
    weights: [33.33, 33.33, 33.34],
    split: true,
    options: { mode: "growthbook", seed: "", hashVersion: 2, weights: [1 / 3, 1 / 3, 1 / 3] },
    slots: [1, 0, 2, 2, 1, 0, 2, 0],
  },
  {
    name: "growthbook empty seed force rule v2",
    flagKey: "gb-force-empty-v2",
    weights: [50],
    split: false,
    options: { mode: "growthbook", seed: "", hashVersion: 2, coverage: 0.5 },
    slots: [0, -1, -1, 0, -1, -1, 0, -1],
  },
  // Weights not summing to ~1: GrowthBook falls back to equal weights (coverage still applies).
  {
    name: "growthbook weights not summing to 1",
    flagKey: "gb-badsum-v2",
    weights: [20, 20, 10],
    split: true,
    options: { mode: "growthbook", hashVersion: 2, weights: [0.2, 0.2, 0.1], coverage: 0.8 },
    slots: [2, 2, 2, 0, 0, 1, 2, 2],
  },
  // LaunchDarkly treats rollout seed 0 as no seed (@launchdarkly/node-server-sdk 9.13.7).
  {
    name: "launchdarkly seed 0",
    flagKey: "flag",
    weights: [50, 30, 20],
    split: true,
    options: { mode: "launchdarkly", ldSalt: "s4lt", ldSeed: 0 },
    slots: [1, 0, 1, 0, 2, 1, 0, 1],
  },
  // A LaunchDarkly rollout whose weights sum below 100% gives the rest to its last variation.
  {
    name: "launchdarkly short split",
    flagKey: "flag",
    weights: [40, 30],
    split: true,
    options: { mode: "launchdarkly", ldSalt: "s4lt" },
    slots: [1, 0, 1, 0, 1, 1, 0, 1],
  },
  // flagd fractional [["a",25],["b",25],["c",50]]: "js" as @openfeature/flagd-core 4.0.1 answered;
  // "utf8" from flagd's spec formula (murmur3 of UTF-8 flagKey + targetingKey, (hash * 100) >> 32).
  {
    name: "flagd fractional, @openfeature/flagd-core hash",
    flagKey: "flagd-vec",
    weights: [25, 25, 50],
    split: true,
    options: { mode: "flagd", flagdWeights: [25, 25, 50], flagdHash: "js" },
    slots: [1, 0, 2, 2, 1, 1, 2, 2],
  },
  {
    name: "flagd fractional, spec (UTF-8) hash",
    flagKey: "flagd-vec",
    weights: [25, 25, 50],
    split: true,
    options: { mode: "flagd", flagdWeights: [25, 25, 50] },
    slots: [1, 0, 0, 1, 1, 0, 2, 2],
  },
];

describe("frozen compatibility vectors", () => {
  for (const v of VECTORS)
    it(v.name, () => {
      const b = createBucketer(v.flagKey, v.weights, v.split, v.options);
      expect(IDS.map((id) => b.slot(id))).toEqual(v.slots);
    });
});
