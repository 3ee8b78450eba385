import { describe, expect, it } from "vitest";
import { runScenario } from "../src/scenario.js";

describe("the pnpm demo scenario", () => {
  it("runs every step end to end on PGlite and says so", async () => {
    const lines: string[] = [];
    const r = await runScenario({ print: (l) => lines.push(l) });
    expect(r.steps.filter((s) => !s.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.steps).toHaveLength(10);
    const out = lines.join("\n");
    expect(out).toContain("[high] Failed logins spike");
    expect(out).toContain("decision: Contain likely brute force and protect legitimate users.");
    expect(out).toContain("auth.login.rate_limit_strict: false -> true");
    expect(out).toContain("auth.login.rate_limit_strict: true -> false");
    expect(out).toMatch(/verifyExport -> ok=true/);
    expect(out).toMatch(/all 10 steps checked out/);
  }, 120_000);
});
