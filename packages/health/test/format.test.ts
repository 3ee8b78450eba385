import { describe, expect, it } from "vitest";
import { httpStatusOf, runHealthChecks, toHealthJson, toPrometheus, type HealthCheck, type HealthReport } from "@ops/health";

async function sample(): Promise<HealthReport> {
  const checks: HealthCheck[] = [
    {
      name: "postgres",
      measurement: "responseTime",
      componentType: "datastore",
      run: () => ({ ok: true, observedValue: 1.5, observedUnit: "ms" }),
    },
    { name: "cache", critical: false, run: () => ({ ok: false, message: "down at redis://:pw-123@cache:6379" }) },
  ];
  const r = await runHealthChecks("prod", checks);
  r.probe = "readiness";
  return r;
}

describe("health+json", () => {
  it("maps pass and warn to 200, fail to 503", () => {
    expect([httpStatusOf("pass"), httpStatusOf("warn"), httpStatusOf("fail")]).toEqual([200, 200, 503]);
  });

  it("short view: status and service fields only", async () => {
    const doc = toHealthJson(await sample(), "short", { serviceId: "api", version: "1", releaseId: "1.2.3" });
    expect(doc).toEqual({ status: "warn", serviceId: "api", version: "1", releaseId: "1.2.3" });
  });

  it("detailed view: checks keyed by component, output only for non-passing checks", async () => {
    const doc = toHealthJson(await sample(), "detailed");
    expect(doc.status).toBe("warn");
    expect(doc.output).toBe("degraded: cache");
    expect(doc.notes).toEqual(["env=prod", "probe=readiness"]);
    expect(Object.keys(doc.checks!)).toEqual(["postgres:responseTime", "cache"]);
    const pg = doc.checks!["postgres:responseTime"]![0]!;
    expect(pg).toMatchObject({
      componentId: "postgres",
      componentType: "datastore",
      status: "pass",
      observedValue: 1.5,
      observedUnit: "ms",
      critical: true,
    });
    expect(pg.output).toBeUndefined();
    expect(new Date(pg.time).toISOString()).toBe(pg.time);
    const cache = doc.checks!.cache![0]!;
    expect(cache).toMatchObject({ status: "fail", critical: false, output: "down at [redacted]" });
    expect(JSON.stringify(doc)).not.toContain("pw-123");
  });
});

describe("toPrometheus", () => {
  it("exports each check's status and duration in the text format", async () => {
    const text = toPrometheus([await sample()], { shuttingDown: false });
    expect(text).toContain("# TYPE ops_health_check_status gauge");
    expect(text).toContain('ops_health_status{probe="readiness",status="warn"} 1');
    expect(text).toContain('ops_health_status{probe="readiness",status="pass"} 0');
    expect(text).toContain('ops_health_check_status{probe="readiness",check="cache",component="cache",critical="false",status="fail"} 1');
    expect(text).toContain('ops_health_check_up{probe="readiness",check="postgres:responseTime",component="postgres",critical="true"} 1');
    expect(text).toContain('ops_health_check_up{probe="readiness",check="cache",component="cache",critical="false"} 0');
    expect(text).toMatch(/^ops_health_check_duration_seconds\{probe="readiness",check="cache",[^}]*\} \d+(\.\d+)?(e-\d+)?$/m);
    expect(text).toContain(
      'ops_health_check_observed_value{probe="readiness",check="postgres:responseTime",component="postgres",critical="true",unit="ms"} 1.5',
    );
    expect(text).toContain("ops_health_shutting_down 0");
    expect(text).not.toContain("pw-123");
    expect(text.endsWith("\n")).toBe(true);
    // Every sample line is `name{labels} value` (or `name value`).
    for (const line of text
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("#")))
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? -?[0-9.e+-]+$/);
  });

  it("escapes label values and takes a prefix", async () => {
    const r = await runHealthChecks("prod", [{ name: "ok", run: () => true }]);
    r.checks[0]!.key = 'we"ird\\na\nme';
    const text = toPrometheus([r], { prefix: "app_health" });
    expect(text).toContain('check="we\\"ird\\\\na\\nme"');
    expect(text).toContain("# TYPE app_health_check_up gauge");
  });

  it("rejects a malformed prefix", async () => {
    expect(() => toPrometheus([], { prefix: "bad-prefix" })).toThrow(/prefix: expected a metric name prefix/);
  });
});
