import { describe, expect, it } from "vitest";
import { createHealth, healthRoute, runHealthChecks } from "../src/index.js";

describe("values a check returns besides its message", () => {
  it("string observedValue and details are scrubbed like messages (no connection strings in the detailed view)", async () => {
    const report = await runHealthChecks("prod", [
      {
        name: "db",
        run: async () => ({
          status: "warn",
          observedValue: "postgres://admin:s3cret@db:5432/app",
          details: { dsn: "postgres://admin:s3cret@db:5432/app", nested: { list: ["token=abcdef123456", 3] }, ok: true },
        }),
      },
    ]);
    const [c] = report.checks;
    expect(c!.observedValue).toBe("[redacted]");
    expect(c!.details).toEqual({ dsn: "[redacted]", nested: { list: ["token=[redacted]", 3] }, ok: true });

    const health = createHealth({
      checks: [{ name: "cache", run: async () => ({ status: "fail", details: { url: "redis://:hunter22@cache:6379" } }) }],
      details: true,
    });
    const res = await healthRoute(health, "readiness")(new Request("http://127.0.0.1/readyz"));
    const text = await res.text();
    expect(text).not.toContain("hunter22");
    expect(text).not.toContain("redis://");
    health.close();
  });
});
