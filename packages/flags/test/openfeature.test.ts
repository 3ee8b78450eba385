import { afterAll, describe, expect, it } from "vitest";
import { OpenFeature, ProviderEvents, type EvaluationDetails } from "@openfeature/server-sdk";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController } from "@ops/flags";
import { OpsFlagsProvider } from "@ops/flags/openfeature";

describe("OpenFeature provider (real @openfeature/server-sdk)", async () => {
  const store = new MemoryFlagStore();
  const controller = new FeatureFlagController(store, "prod", { pollIntervalMs: 0 });
  const who = { actorUserId: "admin", reason: "test" };
  await controller.setFlag({ key: "checkout", newValue: false, ...who });
  await controller.setRules({
    key: "checkout",
    rules: [{ id: "ent", when: [{ attr: "plan", op: "eq", value: "enterprise" }], serve: { value: true } }],
    ...who,
  });
  await controller.setFlag({ key: "checkout", newValue: true, tenantId: "acme", ...who });
  await controller.setFlag({ key: "banner", newValue: "hi", ...who });
  await controller.setFlag({ key: "limit", newValue: 10, ...who });
  await controller.setFlag({ key: "cfg", newValue: { a: 1 }, ...who });
  await controller.setFlag({ key: "roll", newValue: false, ...who });
  await controller.updateFlag({ key: "roll", patch: { variants: { on: true }, rollout: { percentage: 100, variant: "on" } }, ...who });
  await OpenFeature.setProviderAndWait("ops", new OpsFlagsProvider(controller, { tenantAttribute: "tenant" }));
  const client = OpenFeature.getClient("ops");
  afterAll(() => OpenFeature.close());

  it("resolves every type with reasons mapped", async () => {
    expect(await client.getBooleanDetails("checkout", false, { targetingKey: "u1", plan: "enterprise" })).toMatchObject({
      value: true,
      reason: "TARGETING_MATCH",
      flagMetadata: { ruleId: "ent" },
    });
    expect(await client.getBooleanDetails("checkout", true, { targetingKey: "u1", plan: "free" })).toMatchObject({
      value: false,
      reason: "DEFAULT",
    });
    expect(await client.getStringValue("banner", "x", {})).toBe("hi");
    expect(await client.getNumberValue("limit", 0, {})).toBe(10);
    expect(await client.getObjectValue("cfg", {}, {})).toEqual({ a: 1 });
  });

  it("maps the tenant attribute and targetingKey (as the bucketing unit)", async () => {
    const d = await client.getBooleanDetails("checkout", false, { targetingKey: "u1", tenant: "acme" });
    expect(d).toMatchObject({ value: true, reason: "TARGETING_MATCH", flagMetadata: { opsReason: "TENANT_OVERRIDE" } });
    expect(await client.getBooleanDetails("roll", false, { targetingKey: "u9" })).toMatchObject({
      value: true,
      reason: "SPLIT",
      variant: "on",
    });
    expect(await client.getBooleanDetails("roll", false, {})).toMatchObject({ value: false, reason: "DEFAULT" });
  });

  it("maps errors to OpenFeature error codes and the caller's default", async () => {
    const missing: EvaluationDetails<boolean> = await client.getBooleanDetails("missing", true, {});
    expect(missing).toMatchObject({ value: true, reason: "ERROR", errorCode: "FLAG_NOT_FOUND" });
    expect(await client.getBooleanDetails("banner", true, {})).toMatchObject({ value: true, reason: "ERROR", errorCode: "TYPE_MISMATCH" });
    expect(await client.getNumberDetails("banner", 7, {})).toMatchObject({ value: 7, errorCode: "TYPE_MISMATCH" });
  });

  it("emits ConfigurationChanged when flags change", async () => {
    const changed = new Promise<string[] | undefined>((resolve) =>
      client.addHandler(ProviderEvents.ConfigurationChanged, (e) => resolve(e?.flagsChanged)),
    );
    await controller.setFlag({ key: "banner", newValue: "bye", ...who });
    expect(await changed).toEqual(["banner"]);
    expect(await client.getStringValue("banner", "x", {})).toBe("bye");
  });
});
