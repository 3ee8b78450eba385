import { FNV_OFFSET, fnv1aContinue, fnv1aOfDecimal } from "./fnv1a.js";
import { imurmurhash3 } from "./imurmurhash.js";
import { sha1Hex } from "./sha1.js";
import { murmur3Continue, murmur3LowBytesContinue, murmur3LowBytesPrefix, murmur3Prefix, type Murmur3State } from "./murmur3.js";

/**
 * How a unit (a user id, a tenant id...) is placed in a rollout.
 * - `ops` (default): murmur3 x86_32, seed 0, over the UTF-8 bytes of `salt + ":" + unit`;
 *   position = hash % 100000; slot i covers positions [cum(i-1), cum(i)) with cum in
 *   thousandths of a percent. Frozen by test vectors: a change is a breaking change.
 * - `unleash`: unleash-client's `flexibleRollout` (`groupId:unit`, one byte per UTF-16 unit,
 *   `hash % 100 + 1 <= percentage`) and its variants (seed 86028157, `hash % totalWeight + 1`).
 * - `growthbook`: GrowthBook's FNV-1a `hash(seed, unit, hashVersion)` (an empty or absent seed
 *   hashes with the flag key, as GrowthBook does with the feature key); a percentage is a force
 *   rule's `coverage` (`n <= coverage`) or `range`, a split an experiment's ranges (`start <= n <
 *   end`) from its `weights` and `coverage` (GrowthBook's clamping and equal-weights fallback), or
 *   explicit `ranges`. Fewer than 2 variations never assign (as GrowthBook).
 * - `launchdarkly`: SHA-1 of `flagKey.salt.unit`, or `seed.unit` for a non-zero rollout seed (seed
 *   0 is "no seed" in LaunchDarkly), first 15 hex digits / 0xFFFFFFFFFFFFFFF, weights in 1/100000,
 *   `bucket < cumulative weight`; a split whose weights sum below 100% gives the rest to its last
 *   variation, as LaunchDarkly does.
 * - `flagd`: flagd's `fractional`: murmur3 x86_32 (seed 0) of `salt + unit` (salt default: the flag
 *   key, flagd's `$flagd.flagKey + targetingKey`), bucket = `(hash * totalWeight) >> 32` over the
 *   integer `flagdWeights`, first slot whose cumulative weight exceeds it. `flagdHash: "utf8"`
 *   (default) hashes UTF-8 bytes as flagd's spec and its Go/Java evaluators; `"js"` hashes as
 *   `@openfeature/flagd-core` (imurmurhash over UTF-16 code units; the same for ASCII ids).
 */
export type BucketingMode = "ops" | "unleash" | "growthbook" | "launchdarkly" | "flagd";

export interface BucketingOptions {
  mode?: BucketingMode;
  /** `ops`: the salt (default: the flag key). */
  salt?: string;
  /** `unleash`: the strategy's groupId (default: the flag key). */
  groupId?: string;
  /** `growthbook`: the rule's seed (empty or absent: the flag key) and hash version (default 1, GrowthBook's). */
  seed?: string;
  hashVersion?: 1 | 2;
  /**
   * `growthbook`, in GrowthBook's own units (so boundaries compare exactly as in its SDK): a force
   * rule's `coverage` (0..1, instead of percentage / 100) or `range`; an experiment's `coverage`,
   * `weights` (fractions, instead of the split's percents / 100) or explicit `ranges`.
   */
  coverage?: number;
  weights?: readonly number[];
  range?: readonly [number, number];
  ranges?: readonly (readonly [number, number])[];
  /** `launchdarkly`: the flag's salt (default ""), or a rollout seed (replaces `flagKey.salt`). */
  ldSalt?: string;
  ldSeed?: number;
  /** `flagd`: the fractional's integer weights, in slot order (default: the percents in thousandths). */
  flagdWeights?: readonly number[];
  /** `flagd`: `utf8` (flagd's spec, default) or `js` (`@openfeature/flagd-core`'s hash). */
  flagdHash?: "utf8" | "js";
}

/** A compiled rollout: which weighted slot a unit falls in, or -1 for none. */
export interface Bucketer {
  readonly mode: BucketingMode;
  slot(unit: string): number;
}

/** Percent weights (0..100 each, sum <= 100) in slot order. */
export type Weights = readonly number[];

function firstBelow(cum: Float64Array, x: number): number {
  for (let i = 0; i < cum.length; i++) if (x < cum[i]!) return i;
  return -1;
}

class OpsBucketer implements Bucketer {
  readonly mode = "ops" as const;
  private readonly state: Murmur3State;
  private readonly cum: Float64Array;
  constructor(salt: string, weights: Weights) {
    this.state = murmur3Prefix(`${salt}:`);
    this.cum = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => {
      sum += Math.round(w * 1000);
      this.cum[i] = sum;
    });
  }
  slot(unit: string): number {
    return firstBelow(this.cum, murmur3Continue(this.state, unit) % 100000);
  }
}

class UnleashBucketer implements Bucketer {
  readonly mode = "unleash" as const;
  private readonly state: Murmur3State;
  private readonly variantState: Murmur3State;
  private readonly percentage: number;
  private readonly cum: Float64Array;
  private readonly total: number;
  constructor(groupId: string, weights: Weights, isSplit: boolean) {
    this.state = murmur3LowBytesPrefix(`${groupId}:`);
    this.variantState = murmur3LowBytesPrefix(`${groupId}:`, 86028157);
    this.percentage = isSplit ? -1 : (weights[0] ?? 0);
    // Unleash variant weights are per mille of a total; ours are percent.
    this.cum = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => {
      sum += Math.round(w * 10);
      this.cum[i] = sum;
    });
    this.total = sum;
  }
  slot(unit: string): number {
    if (this.percentage >= 0) {
      const n = (murmur3LowBytesContinue(this.state, unit) % 100) + 1;
      return this.percentage > 0 && n <= this.percentage ? 0 : -1;
    }
    if (this.total <= 0) return -1;
    const n = (murmur3LowBytesContinue(this.variantState, unit) % this.total) + 1;
    for (let i = 0; i < this.cum.length; i++) if (n <= this.cum[i]!) return i;
    return -1;
  }
}

/** GrowthBook's `getBucketRanges`: coverage clamped to [0, 1], equal weights when missing or not summing to ~1. */
function growthBookRanges(n: number, coverage: number, weights: readonly number[] | undefined): [number, number][] {
  const cov = coverage < 0 ? 0 : coverage > 1 ? 1 : coverage;
  const equal = n <= 0 ? [] : new Array<number>(n).fill(1 / n);
  let w = weights ?? equal;
  if (w.length !== n) w = equal;
  const total = w.reduce((sum, x) => sum + x, 0);
  if (total < 0.99 || total > 1.01) w = equal;
  let cumulative = 0;
  return w.map((x) => {
    const start = cumulative;
    cumulative += x;
    return [start, start + cov * x];
  });
}

class GrowthBookBucketer implements Bucketer {
  readonly mode = "growthbook" as const;
  private readonly seedState: number;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  /** A force rule: -1 for a split. */
  private readonly coverage: number;
  private readonly range: readonly [number, number] | null;
  private readonly never: boolean;
  constructor(
    private readonly seed: string,
    private readonly version: 1 | 2,
    weights: Weights,
    isSplit: boolean,
    options: BucketingOptions,
  ) {
    this.seedState = fnv1aContinue(FNV_OFFSET, seed);
    this.range = !isSplit && options.range ? options.range : null;
    this.coverage = isSplit ? -1 : (options.coverage ?? (weights[0] ?? 0) / 100);
    const ranges = isSplit
      ? (options.ranges ?? growthBookRanges(weights.length, options.coverage ?? 1, options.weights ?? weights.map((w) => w / 100)))
      : [];
    this.never = (isSplit && weights.length < 2) || (!isSplit && this.range === null && this.coverage === 0);
    this.starts = new Float64Array(ranges.map((r) => r[0]));
    this.ends = new Float64Array(ranges.map((r) => r[1]));
  }
  private n(unit: string): number {
    if (this.version === 2) return (fnv1aOfDecimal(fnv1aContinue(this.seedState, unit)) % 10000) / 10000;
    return (fnv1aContinue(fnv1aContinue(FNV_OFFSET, unit), this.seed) % 1000) / 1000;
  }
  slot(unit: string): number {
    if (unit === "" || this.never) return -1;
    const n = this.n(unit);
    if (this.coverage >= 0 || this.range !== null) {
      if (this.range !== null) return n >= this.range[0] && n < this.range[1] ? 0 : -1;
      return n <= this.coverage ? 0 : -1;
    }
    for (let i = 0; i < this.starts.length; i++) if (n >= this.starts[i]! && n < this.ends[i]!) return i;
    return -1;
  }
}

class LaunchDarklyBucketer implements Bucketer {
  readonly mode = "launchdarkly" as const;
  private readonly prefix: string;
  private readonly cum: Float64Array;
  /** A split gives a bucket past its weights to the last variation; a percentage leaves it out. */
  private readonly rest: number;
  constructor(flagKey: string, salt: string, seed: number | undefined, weights: Weights, isSplit: boolean) {
    // LaunchDarkly: `seed ? Number(seed) : key.salt`, so a seed of 0 means "no seed".
    this.prefix = seed ? `${seed}.` : `${flagKey}.${salt}.`;
    this.cum = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => {
      sum += Math.round(w * 1000) / 1e5;
      this.cum[i] = sum;
    });
    this.rest = isSplit ? weights.length - 1 : -1;
  }
  slot(unit: string): number {
    // Pure-JS SHA-1 (no node:crypto), so the same bucketer runs in browsers and at the edge.
    const hex = sha1Hex(this.prefix + unit);
    const i = firstBelow(this.cum, parseInt(hex.substring(0, 15), 16) / 1152921504606847e3);
    return i < 0 ? this.rest : i;
  }
}

/** `floor(hash * weight / 2^32)` exactly, for hash < 2^32 and weight < 2^31, without BigInt. */
function mulShift32(hash: number, weight: number): number {
  const a = (hash >>> 16) * weight;
  const b = (hash & 0xffff) * weight;
  const q = Math.floor(a / 65536);
  const r = a - q * 65536;
  return q + Math.floor((r * 65536 + b) / 4294967296);
}

class FlagdBucketer implements Bucketer {
  readonly mode = "flagd" as const;
  private readonly state: Murmur3State;
  private readonly cum: Float64Array;
  private readonly total: number;
  constructor(
    private readonly prefix: string,
    weights: readonly number[],
    private readonly slots: number,
    private readonly js: boolean,
  ) {
    this.state = murmur3Prefix(prefix);
    this.cum = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => {
      sum += Math.max(0, Math.floor(w));
      this.cum[i] = sum;
    });
    this.total = sum;
  }
  slot(unit: string): number {
    if (this.total <= 0) return -1;
    const h = this.js ? imurmurhash3(this.prefix + unit) : murmur3Continue(this.state, unit);
    const bucket = mulShift32(h, this.total);
    for (let i = 0; i < this.cum.length; i++) if (bucket < this.cum[i]!) return i < this.slots ? i : -1;
    return -1;
  }
}

function flagdBucketer(flagKey: string, weights: Weights, isSplit: boolean, options: BucketingOptions): Bucketer {
  const js = options.flagdHash === "js";
  const prefix = options.salt ?? flagKey;
  if (options.flagdWeights) return new FlagdBucketer(prefix, options.flagdWeights, options.flagdWeights.length, js);
  const ints = weights.map((w) => Math.round(w * 1000));
  // A percentage is a two-way fractional whose second slot means "not included".
  if (!isSplit) return new FlagdBucketer(prefix, [ints[0] ?? 0, 100000 - (ints[0] ?? 0)], 1, js);
  return new FlagdBucketer(prefix, ints, ints.length, js);
}

/**
 * Compiles a rollout for `flagKey`. `weights` are percents in slot order; `isSplit` false means a
 * single percentage (slot 0 = included), which compatibility modes treat as their "rollout"
 * primitive rather than a variant split.
 */
export function createBucketer(flagKey: string, weights: Weights, isSplit: boolean, options: BucketingOptions = {}): Bucketer {
  switch (options.mode ?? "ops") {
    case "unleash":
      return new UnleashBucketer(options.groupId ?? flagKey, weights, isSplit);
    case "growthbook":
      return new GrowthBookBucketer(options.seed || flagKey, options.hashVersion ?? 1, weights, isSplit, options);
    case "launchdarkly":
      return new LaunchDarklyBucketer(flagKey, options.ldSalt ?? "", options.ldSeed, weights, isSplit);
    case "flagd":
      return flagdBucketer(flagKey, weights, isSplit, options);
    default:
      return new OpsBucketer(options.salt ?? flagKey, weights);
  }
}

/**
 * The default bucket of `unit` for `salt`: 0..99999 (thousandths of a percent). A unit is in an
 * `X%` rollout when `bucket < X * 1000`. Stable across releases (see the frozen vectors).
 */
export function opsBucket(salt: string, unit: string): number {
  return murmur3Continue(murmur3Prefix(`${salt}:`), unit) % 100000;
}
