import { describe, expect, it } from "vitest";
import { compareSemver, compareSemverTo, parseSemver } from "../src/targeting/semver.js";

// The hot path's allocation-free comparison must agree with the full parser on every input.
describe("compareSemverTo", () => {
  it("agrees with parseSemver + compareSemver", () => {
    const inputs = [
      "1.2.3",
      "v1.2.3",
      "1.2.4",
      "1.10.0",
      "0.0.0",
      "01.2.3",
      "1.02.3",
      "1.2",
      "1.2.3.4",
      "",
      "v",
      "1..3",
      "1.2.3-rc.1",
      "1.2.3+b",
      "10.20.30",
      "999999999999999999.0.0",
      "1.2.x",
      " 1.2.3",
      "1.2.3 ",
      "2.0.0",
      "0.9.99",
    ];
    const targets = ["1.2.3", "1.2.3-rc.1", "0.0.1", "2.0.0", "1.10.0-alpha"].map((t) => parseSemver(t)!);
    for (const t of targets)
      for (const s of inputs) {
        const p = parseSemver(s);
        expect(compareSemverTo(s, t), `${s} vs ${JSON.stringify(t)}`).toBe(p === null ? null : compareSemver(p, t));
      }
  });
});
