import { describe, expect, it } from "vitest";
import { createPlaybookRegistry, defineDetector, deriveIncidents, thresholdDetector } from "../src/index.js";

describe("custom detectors (the seed's cart-abandonment example)", () => {
  const cart = thresholdDetector({
    incident_type: "HIGH_CART_ABANDONMENT",
    metric: "checkout_abandonment_rate",
    above: 0.5,
    severity_guess: 1,
    minVolume: { metric: "checkouts_1h", atLeast: 20 },
  });

  it("fires above the threshold with enough volume", () => {
    const ctx = { now: "2026-11-26T10:00:00.000Z" };
    const [incident, ...rest] = deriveIncidents({ checkout_abandonment_rate: 0.62, checkouts_1h: 40 }, ctx, [cart]);
    expect(rest).toEqual([]);
    expect(incident).toMatchObject({
      incident_type: "HIGH_CART_ABANDONMENT",
      severity_guess: 1,
      metrics_snapshot: { checkout_abandonment_rate: 0.62 },
    });
    expect(deriveIncidents({ checkout_abandonment_rate: 0.5, checkouts_1h: 40 }, ctx, [cart])).toEqual([]);
    // 3 of 4 carts abandoned is not a trend.
    expect(deriveIncidents({ checkout_abandonment_rate: 0.75, checkouts_1h: 4 }, ctx, [cart])).toEqual([]);
  });

  it("feeds a registry that knows the custom type", () => {
    const spine = createPlaybookRegistry().register("HIGH_CART_ABANDONMENT", {
      title: "High cart abandonment",
      respond: () => ({
        decision: "Check checkout for errors and latency",
        steps: ["Look at checkout error rate", "Check payment widget loads"],
      }),
    });
    const custom = defineDetector({
      incident_type: "HIGH_CART_ABANDONMENT",
      detect: (m) => ((m.checkout_abandonment_rate as number) > 0.5 ? { severity_guess: 2 } : null),
    });
    for (const e of deriveIncidents({ checkout_abandonment_rate: 0.7 }, {}, [custom])) expect(spine.run(e).decision).toMatch(/checkout/);
  });

  it("rejects a detector with a bad type", () => {
    expect(() => defineDetector({ incident_type: "cart", detect: () => null })).toThrow(/incident_type/);
  });
});
