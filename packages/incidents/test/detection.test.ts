import { describe, expect, it } from "vitest";
import { MemoryCounterStore } from "@ops/adapter-memory";
import { evaluateRules, eventKey, type DetectionRule } from "../src/index.js";

const MIN = 60_000;
const now = Math.floor(Date.now() / MIN) * MIN + 5_000;

async function counters(series: Record<string, number[]>, tenantId: string | null = "acme") {
  const store = new MemoryCounterStore();
  for (const [type, counts] of Object.entries(series))
    for (let i = 0; i < counts.length; i++) {
      const by = counts[counts.length - 1 - i]!;
      if (by > 0)
        await store.increment({ tenantId, key: eventKey(type), atMs: now - (i + 1) * MIN, bucketMs: MIN, by, ttlMs: 3 * 3_600_000 });
    }
  return store;
}

const rule: DetectionRule = {
  id: "r",
  incidentType: "FAILED_LOGINS_SPIKE",
  events: ["LOGIN_FAILED"],
  totalEvents: ["LOGIN_FAILED", "LOGIN_SUCCEEDED"],
  minCount: 20,
  ratio: 0.5,
  minVolume: 30,
  long: { buckets: 10, minCount: 100 },
  scope: "tenant",
  metric: "failed_logins_1h",
  severity: (n) => (n >= 1000 ? 1 : 2),
};

describe("evaluateRules", () => {
  it("requires the long window too: two bad buckets that are a blip do not fire", async () => {
    const store = await counters({ LOGIN_FAILED: [0, 0, 0, 0, 0, 0, 0, 0, 40, 40] });
    const [f] = await evaluateRules({ counters: store, rules: [rule], scopes: ["acme"], nowMs: now });
    expect(f).toMatchObject({ firing: false, counts: [40, 40] });
    const sustained = await counters({ LOGIN_FAILED: [0, 0, 0, 0, 0, 0, 10, 10, 40, 40] });
    const [g] = await evaluateRules({ counters: sustained, rules: [rule], scopes: ["acme"], nowMs: now });
    expect(g).toMatchObject({ firing: true, reason: "threshold", hourlyCount: 100, severityGuess: 2, totals: [40, 40] });
  });

  it("ignores the current, incomplete bucket", async () => {
    const store = await counters({ LOGIN_FAILED: [0, 0, 0, 0, 0, 0, 10, 10, 40, 40] });
    await store.increment({ tenantId: "acme", key: eventKey("LOGIN_FAILED"), atMs: now, bucketMs: MIN, by: 1000, ttlMs: 3_600_000 });
    const [f] = await evaluateRules({ counters: store, rules: [rule], scopes: ["acme"], nowMs: now });
    expect(f?.counts).toEqual([40, 40]);
  });

  it("gives the same event id for the same window and a new one for the next", async () => {
    const store = await counters({ LOGIN_FAILED: [0, 0, 0, 0, 0, 0, 10, 10, 40, 40] });
    const a = await evaluateRules({ counters: store, rules: [rule], scopes: ["acme"], nowMs: now });
    const b = await evaluateRules({ counters: store, rules: [rule], scopes: ["acme"], nowMs: now + 30_000 });
    const c = await evaluateRules({ counters: store, rules: [rule], scopes: ["acme"], nowMs: now + MIN });
    expect(a[0]!.eventId).toBe(b[0]!.eventId);
    expect(c[0]!.eventId).not.toBe(a[0]!.eventId);
  });

  it("fails the ratio on busy, healthy traffic; below the volume floor the count decides", async () => {
    const busy = await counters({ LOGIN_FAILED: [0, 0, 0, 0, 0, 0, 30, 30, 40, 40], LOGIN_SUCCEEDED: [0, 0, 0, 0, 0, 0, 0, 0, 400, 400] });
    expect((await evaluateRules({ counters: busy, rules: [rule], scopes: ["acme"], nowMs: now }))[0]!.firing).toBe(false);
    // 25 of 26 attempts per bucket: under the floor (30) the ratio is not applied; 25 >= 20 fires.
    const quiet = await counters({ LOGIN_FAILED: [0, 0, 0, 0, 0, 0, 30, 30, 25, 25], LOGIN_SUCCEEDED: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1] });
    expect((await evaluateRules({ counters: quiet, rules: [rule], scopes: ["acme"], nowMs: now }))[0]!.firing).toBe(true);
    // And under the count floor nothing fires whatever the ratio.
    const few = await counters({ LOGIN_FAILED: [50, 50, 0, 0, 0, 0, 0, 0, 15, 15] });
    expect((await evaluateRules({ counters: few, rules: [rule], scopes: ["acme"], nowMs: now }))[0]!.firing).toBe(false);
  });
});
