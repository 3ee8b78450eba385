import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { createBucketer, murmur3, opsBucket } from "@ops/flags";

// FROZEN. These pin the default bucketing contract (murmur3 x86_32, seed 0, UTF-8 of `salt:unit`,
// bucket = hash % 100000). If this test fails, users would be reshuffled: that is a breaking change.
const VECTORS: [salt: string, unit: string, hash: number, bucket: number][] = [
  ["new_checkout_flow", "user-1", 3299934510, 34510],
  ["new_checkout_flow", "user-2", 1131221122, 21122],
  ["new_checkout_flow", "", 4236165632, 65632],
  ["checkout", "42", 2630045384, 45384],
  ["beta", "Zoë", 2662056439, 56439],
  ["beta", "用户-三", 2398509492, 9492],
  ["beta", "😀emoji", 4110073155, 73155],
  ["beta", "\ud800lone", 216345060, 45060],
  ["a", "b", 2722392131, 92131],
  ["tenant-rollout", "acme-corp", 2561579381, 79381],
];

// Published murmur3 x86_32 seed-0 values (the reference implementation's).
const REFERENCE: [string, number][] = [
  ["", 0],
  ["a", 0x3c2569b2],
  ["abc", 0xb3dd93fa],
  ["hello world", 0x5e928f0f],
];

const requireFromUnleash = createRequire(createRequire(import.meta.url).resolve("unleash-client"));
const murmurJs = requireFromUnleash("murmurhash3js") as { x86: { hash32(s: string, seed?: number): number } };

describe("default bucketing (frozen contract)", () => {
  it("matches the frozen vectors", () => {
    for (const [salt, unit, hash, bucket] of VECTORS) {
      expect(murmur3(`${salt}:${unit}`), `${salt}:${unit}`).toBe(hash);
      expect(opsBucket(salt, unit), `${salt}:${unit}`).toBe(bucket);
    }
  });

  it("is murmur3 x86_32: matches published values and an independent implementation over UTF-8 bytes", () => {
    for (const [s, h] of REFERENCE) expect(murmur3(s)).toBe(h);
    const samples = ["", "x", "user-123", "Zoë", "用户", "😀", "a😀b", "\ud800", "é".repeat(7), "long-".repeat(40)];
    for (const s of samples) {
      const utf8AsBinary = Buffer.from(s, "utf8").toString("latin1");
      expect(murmur3(s), s).toBe(murmurJs.x86.hash32(utf8AsBinary, 0));
    }
  });

  it("a salt of every length (every block alignment) and mixed ASCII / non-ASCII units hash as one UTF-8 string", () => {
    const parts = ["a", "bc", "def", "ghij", "é", "用", "😀", "\ud800", "0123456789", "ü-ñ-"];
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let t = 0; t < 3000; t++) {
      const salt = "s".repeat(next() % 9);
      let unit = "";
      for (let j = next() % 8; j > 0; j--) unit += parts[next() % parts.length];
      const utf8AsBinary = Buffer.from(`${salt}:${unit}`, "utf8").toString("latin1");
      expect(opsBucket(salt, unit), `${salt}:${unit}`).toBe(murmurJs.x86.hash32(utf8AsBinary, 0) % 100000);
    }
  });

  it("hashes non-ASCII ids by their UTF-8 bytes (distinct ids, distinct hashes)", () => {
    expect(murmur3("Zoë")).not.toBe(murmur3("Zoe"));
    expect(murmur3("用户")).not.toBe(murmurJs.x86.hash32("用户", 0)); // the low-byte (Unleash) reading differs
  });

  it("a 30% rollout includes about 30% of 20,000 units, and the same units every time", () => {
    const b = createBucketer("flag", [30], false);
    let inside = 0;
    for (let i = 0; i < 20_000; i++) if (b.slot(`user-${i}`) === 0) inside++;
    expect(inside / 20_000).toBeGreaterThan(0.28);
    expect(inside / 20_000).toBeLessThan(0.32);
    const again = createBucketer("flag", [30], false);
    for (let i = 0; i < 1000; i++) expect(again.slot(`user-${i}`)).toBe(b.slot(`user-${i}`));
  });

  it("raising a rollout only adds units (monotonic), and splits partition the space", () => {
    const at10 = createBucketer("f", [10], false);
    const at40 = createBucketer("f", [40], false);
    for (let i = 0; i < 5000; i++) if (at10.slot(`u${i}`) === 0) expect(at40.slot(`u${i}`)).toBe(0);
    const split = createBucketer("f", [50, 30, 20], true);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[split.slot(`u${i}`)]! += 1;
    expect(counts[0]! / 30_000).toBeCloseTo(0.5, 1);
    expect(counts[1]! / 30_000).toBeCloseTo(0.3, 1);
    expect(counts[2]! / 30_000).toBeCloseTo(0.2, 1);
  });
});
