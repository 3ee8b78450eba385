import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlagdCore } from "@openfeature/flagd-core";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController, applyImport, createBucketer, importFlagd, murmur3 } from "@ops/flags";

const text = readFileSync(join(import.meta.dirname, "fixtures/import/flagd-fractional.json"), "utf8");
const source = JSON.parse(text) as { flags: Record<string, { variants: Record<string, unknown>; targeting: unknown }> };
const N = 100_000;
const KEYS = Object.keys(source.flags);
const who = { actorUserId: "migrator", reason: "flagd import" };
/** ASCII ids, and (every 5th) non-ASCII ones: accents, CJK, emoji (surrogate pairs), empty and long ids. */
const id = (i: number, ascii: boolean) =>
  ascii || i % 5 !== 0
    ? i % 997 === 0
      ? `user-${"x".repeat(i % 300)}-${i}`
      : `user-${i}`
    : [`ユーザー${i}`, `é${i}ñ`, `😀${i}`, `Ω${i}Ω`, `𝔘${i}`][i % 25 === 0 ? 0 : ((i / 5) % 4) | 0]!;

async function imported(hash: "utf8" | "js") {
  const r = importFlagd(source, { hash });
  expect(r.unmapped.filter((u) => !u.reason.includes("is hashed as"))).toEqual([]);
  const c = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0, usageFlushMs: 0 });
  await c.ready();
  expect((await applyImport(c, r, who)).failed).toEqual([]);
  return c;
}

function flagd() {
  const core = new FlagdCore();
  core.setConfigurations(text);
  return core;
}

describe("flagd fractional: the flagd bucketing mode", () => {
  it(`imports with hash "js" and evaluates like @openfeature/flagd-core for ${N.toLocaleString("en")} ids (non-ASCII included)`, async () => {
    const c = await imported("js");
    const core = flagd();
    let mismatches = 0;
    const samples: string[] = [];
    const seen = new Map<string, Set<string>>();
    for (let i = 0; i < N; i++) {
      const targetingKey = id(i, false);
      const ctx = {
        targetingKey,
        email: i % 3 === 0 ? `${targetingKey}@corp.example` : `${targetingKey}@x.io`,
        tier: i % 10 === 0 ? "vip" : "std",
      };
      for (const key of KEYS) {
        const theirs = core.resolveAll(ctx).find((d) => d.flagKey === key);
        const ours = c.evaluate(key, ctx);
        if (theirs?.value !== ours.value) {
          mismatches++;
          if (samples.length < 5)
            samples.push(`${key} ${JSON.stringify(targetingKey)}: flagd=${String(theirs?.value)} ops=${String(ours.value)}`);
        }
        let s = seen.get(key);
        if (!s) seen.set(key, (s = new Set()));
        s.add(String(ours.value));
      }
    }
    expect(samples).toEqual([]);
    expect(mismatches).toBe(0);
    // Every flag really splits (zero-weight's first "on" never wins, its second does).
    for (const key of KEYS) expect(seen.get(key)!.size, key).toBeGreaterThan(1);
    // A context without a targeting key gets the default variant, as in flagd.
    expect(c.evaluate("rollout-30", {}).value).toBe(false);
    await c.close();
  }, 600_000);

  it(`hash "utf8" (flagd's spec) equals @openfeature/flagd-core on ASCII ids and the spec's formula on every id`, async () => {
    const c = await imported("utf8");
    const core = flagd();
    let vsCore = 0;
    let vsSpec = 0;
    const ws = [1000000007, 1, 1147483639];
    const total = ws.reduce((a, b) => a + b, 0);
    const bucketer = createBucketer("big-weights", [], true, { mode: "flagd", flagdWeights: ws });
    for (let i = 0; i < N; i++) {
      const ascii = id(i, true);
      for (const key of ["rollout-30", "color-split", "tier-then-split"]) {
        const ctx = { targetingKey: ascii, tier: "std" };
        if (core.resolveAll(ctx).find((d) => d.flagKey === key)?.value !== c.evaluate(key, ctx).value) vsCore++;
      }
      // flagd's published algorithm: murmur3 x86_32 of UTF-8(flagKey + targetingKey), (hash * total) >> 32.
      const any = id(i, false);
      const bucket = (BigInt(murmur3(`big-weights${any}`)) * BigInt(total)) >> 32n;
      let sum = 0n;
      let want = -1;
      for (let j = 0; j < ws.length; j++) {
        sum += BigInt(ws[j]!);
        if (sum > bucket) {
          want = j;
          break;
        }
      }
      if (bucketer.slot(any) !== want) vsSpec++;
    }
    expect(vsCore).toBe(0);
    expect(vsSpec).toBe(0);
    await c.close();
  }, 600_000);

  it("the two hashes differ only on non-ASCII ids, so the import option matters there", () => {
    const js = createBucketer("k", [], true, { mode: "flagd", flagdWeights: [1, 1, 1, 1, 1, 1, 1, 1], flagdHash: "js" });
    const utf8 = createBucketer("k", [], true, { mode: "flagd", flagdWeights: [1, 1, 1, 1, 1, 1, 1, 1] });
    let ascii = 0;
    let other = 0;
    for (let i = 0; i < 2000; i++) {
      if (js.slot(`u${i}`) !== utf8.slot(`u${i}`)) ascii++;
      if (js.slot(`ü${i}`) !== utf8.slot(`ü${i}`)) other++;
    }
    expect(ascii).toBe(0);
    expect(other).toBeGreaterThan(1000);
  });
});
