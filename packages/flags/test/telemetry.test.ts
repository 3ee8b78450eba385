import { OpenFeature } from "@openfeature/server-sdk";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController } from "@ops/flags";
import { OpsFlagsProvider } from "@ops/flags/openfeature";
import { FLAG_EVALUATIONS_METRIC, OpsTelemetryHook, createFlagTelemetry } from "@ops/flags/otel";

const who = { actorUserId: "admin", reason: "telemetry test" };

function otel() {
  const logExporter = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor(logExporter)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return { logExporter, loggerProvider, metricExporter, reader, meterProvider };
}

async function controllerWith(telemetry: ReturnType<typeof createFlagTelemetry>) {
  const c = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0, telemetry, usageFlushMs: 0 });
  await c.setFlag({ key: "checkout", newValue: "off", ...who });
  await c.updateFlag({ key: "checkout", patch: { variants: { on: "on", off: "off" } }, ...who });
  await c.setRules({
    key: "checkout",
    rules: [{ id: "ent", when: [{ attr: "plan", op: "eq", value: "enterprise" }], serve: { variant: "on" } }],
    ...who,
  });
  return c;
}

describe("evaluation telemetry (OpenTelemetry semantic conventions)", () => {
  it("emits feature_flag.evaluation events with the conventions' attribute names and no user identifiers by default", async () => {
    const o = otel();
    const c = await controllerWith(createFlagTelemetry({ loggerProvider: o.loggerProvider, sampleRate: 1, setId: "prod" }));
    c.evaluate("checkout", { userId: "u-secret-1", email: "x@y.z", plan: "enterprise" });
    c.evaluate("missing", { userId: "u-secret-2" });
    const records = o.logExporter.getFinishedLogRecords();
    expect(records.map((r) => r.eventName)).toEqual(["feature_flag.evaluation", "feature_flag.evaluation"]);
    expect(records[0]!.attributes).toEqual({
      "feature_flag.key": "checkout",
      "feature_flag.provider.name": "@ops/flags",
      "feature_flag.result.reason": "targeting_match",
      "feature_flag.result.variant": "on",
      "feature_flag.set.id": "prod",
    });
    expect(records[1]!.attributes).toMatchObject({
      "feature_flag.key": "missing",
      "feature_flag.result.reason": "error",
      "error.type": "flag_not_found",
    });
    expect(JSON.stringify(records.map((r) => r.attributes))).not.toMatch(/u-secret|x@y\.z/);
    await c.close();
  });

  it("opt-in context id and value; sampling keeps about sampleRate of the events", async () => {
    const o = otel();
    const c = await controllerWith(
      createFlagTelemetry({ loggerProvider: o.loggerProvider, sampleRate: 1, includeContextId: true, includeValue: true }),
    );
    c.evaluate("checkout", { userId: "u1" });
    expect(o.logExporter.getFinishedLogRecords()[0]!.attributes).toMatchObject({
      "feature_flag.context.id": "u1",
      "feature_flag.result.value": "off",
      "feature_flag.result.reason": "default",
    });
    await c.close();
    const s = otel();
    const sampled = await controllerWith(createFlagTelemetry({ loggerProvider: s.loggerProvider, sampleRate: 0.05 }));
    for (let i = 0; i < 20_000; i++) sampled.evaluate("checkout", { userId: `u${i}` });
    const n = s.logExporter.getFinishedLogRecords().length;
    expect(n).toBeGreaterThan(800);
    expect(n).toBeLessThan(1200);
    expect(() => createFlagTelemetry({ sampleRate: 2 })).toThrow(/sampleRate/);
    await sampled.close();
  });

  it("exports every evaluation as per-flag counts, the same counts staleFlags reads", async () => {
    const o = otel();
    const t = createFlagTelemetry({ loggerProvider: o.loggerProvider, meterProvider: o.meterProvider, sampleRate: 0 });
    const c = await controllerWith(t);
    const stop = t.observe(c);
    for (let i = 0; i < 1234; i++) c.evaluate("checkout", { userId: `u${i}` });
    await o.reader.forceFlush();
    const metric = o.metricExporter
      .getMetrics()
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .find((m) => m.descriptor.name === FLAG_EVALUATIONS_METRIC);
    const point = metric?.dataPoints.find((p) => p.attributes["feature_flag.key"] === "checkout");
    expect(point?.value).toBe(1234);
    expect(o.logExporter.getFinishedLogRecords()).toHaveLength(0);
    // Evaluated flags are not stale; the counter is the one staleFlags samples.
    expect(c.staleFlags({ unusedForDays: 0, now: new Date(Date.now() + 86_400_000) }).map((f) => f.key)).toEqual(["checkout"]);
    stop();
    await c.close();
  });

  it("an OpenFeature hook reports evaluations made through OpenFeature", async () => {
    const o = otel();
    const t = createFlagTelemetry({ loggerProvider: o.loggerProvider, sampleRate: 1, providerName: "ops" });
    const c = await controllerWith(createFlagTelemetry({ sampleRate: 0 }));
    await OpenFeature.setProviderAndWait("telemetry-test", new OpsFlagsProvider(c));
    const client = OpenFeature.getClient("telemetry-test");
    client.addHooks(new OpsTelemetryHook(t));
    expect(await client.getStringValue("checkout", "x", { targetingKey: "u1", plan: "enterprise" })).toBe("on");
    const [rec] = o.logExporter.getFinishedLogRecords();
    expect(rec?.eventName).toBe("feature_flag.evaluation");
    expect(rec?.attributes).toMatchObject({
      "feature_flag.key": "checkout",
      "feature_flag.result.variant": "on",
      "feature_flag.result.reason": "targeting_match",
      "feature_flag.provider.name": "ops",
    });
    expect(rec?.attributes).not.toHaveProperty("feature_flag.context.id");
    await OpenFeature.close();
    await c.close();
  });
});
