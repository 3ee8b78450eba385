import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController, defineFlags } from "@ops/flags";

const who = { actorUserId: "admin", reason: "test" };

async function setup() {
  const flags = defineFlags({ banner: { type: "string", default: "code-default" } });
  const c = new FeatureFlagController(new MemoryFlagStore(), "prod", { definitions: flags, pollIntervalMs: 0, healthCheckIntervalMs: 0 });
  await c.ready();
  return c;
}

describe("named variants", () => {
  it("names the default, rule results, splits and the off value; reasons unchanged", async () => {
    const c = await setup();
    await c.setFlag({ key: "banner", newValue: "hi", ...who });
    await c.updateFlag({
      key: "banner",
      patch: { variants: { greeting: "hi", parting: "bye", off: "" }, defaultVariant: "greeting" },
      ...who,
    });
    expect(c.evaluate("banner")).toMatchObject({ value: "hi", variant: "greeting", reason: "STATIC" });
    await c.setRules({
      key: "banner",
      rules: [{ id: "vip", when: [{ attr: "plan", op: "eq", value: "vip" }], serve: { variant: "parting" } }],
      ...who,
    });
    expect(c.evaluate("banner", { plan: "vip" })).toMatchObject({ value: "bye", variant: "parting", reason: "TARGETING_MATCH" });
    expect(c.evaluate("banner", { plan: "free" })).toMatchObject({ value: "hi", variant: "greeting", reason: "DEFAULT" });
    await c.setRollout({ key: "banner", rollout: { split: [{ weight: 100, variant: "parting" }] }, ...who });
    expect(c.evaluate("banner", { userId: "u1" })).toMatchObject({ value: "bye", variant: "parting", reason: "SPLIT" });
    await c.updateFlag({ key: "banner", patch: { enabled: false, offVariant: "off" }, ...who });
    expect(c.evaluate("banner", {}, "caller")).toMatchObject({ value: "", variant: "off", reason: "DISABLED" });
  });

  it("changing the variant's value moves the default with it; setting another value drops the name", async () => {
    const c = await setup();
    await c.setFlag({ key: "banner", newValue: "hi", ...who });
    await c.updateFlag({ key: "banner", patch: { variants: { greeting: "hi" }, defaultVariant: "greeting" }, ...who });
    await c.updateFlag({ key: "banner", patch: { variants: { greeting: "hello" } }, ...who });
    expect(c.evaluate("banner")).toMatchObject({ value: "hello", variant: "greeting" });
    await c.setFlag({ key: "banner", newValue: "other", ...who });
    expect(c.evaluate("banner")).toMatchObject({ value: "other", variant: null });
    expect(c.getFlag("banner")?.config.defaultVariant).toBeUndefined();
  });

  it("rejects a default variant that does not exist, changing nothing", async () => {
    const c = await setup();
    await c.setFlag({ key: "banner", newValue: "hi", ...who });
    await expect(c.updateFlag({ key: "banner", patch: { defaultVariant: "nope" }, ...who })).rejects.toThrow(/unknown variant "nope"/);
    expect(c.evaluate("banner")).toMatchObject({ value: "hi", variant: null });
  });
});

describe("a disabled flag resolves to the caller's default", () => {
  it("through evaluate and every typed read, with reason DISABLED and no variant", async () => {
    const c = await setup();
    await c.setFlag({ key: "banner", newValue: "hi", ...who });
    await c.updateFlag({ key: "banner", patch: { variants: { greeting: "hi" }, defaultVariant: "greeting", enabled: false }, ...who });
    expect(c.evaluate("banner", {}, "caller")).toMatchObject({ value: "caller", reason: "DISABLED", variant: null });
    expect(c.stringValue("banner", {}, "caller")).toBe("caller");
    // No caller default: the definition's default (never a zero value).
    expect(c.evaluate("banner")).toMatchObject({ value: "code-default", reason: "DISABLED", variant: null });
    expect(c.stringValue("banner")).toBe("code-default");
    await c.setFlag({ key: "n", newValue: 7, ...who });
    await c.setEnabled({ key: "n", enabled: false, ...who });
    expect(c.numberValue("n" as never, {}, 3)).toBe(3);
    expect(c.evaluate("n")).toMatchObject({ value: null, reason: "DISABLED" });
  });

  it("status is READY after the first load", async () => {
    const c = await setup();
    expect(c.status).toBe("READY");
  });
});
