import { describe, expect, it } from "vitest";
import { createTestFlags, defineFlags } from "@ops/flags";

describe("createTestFlags", () => {
  it("serves the given values at once, synchronously and through the async getters", async () => {
    const flags = createTestFlags({ new_checkout_flow: true, banner: "hello", limit: 3 });
    expect(flags.isEnabled("new_checkout_flow")).toBe(true);
    expect(await flags.getBool("new_checkout_flow")).toBe(true);
    expect(await flags.getString("banner")).toBe("hello");
    expect(await flags.getNumber("limit")).toBe(3);
    expect(await flags.getBool("unknown")).toBe(false);
  });

  it("set flips values (globally or per tenant) and the full API works", async () => {
    const flags = createTestFlags({ new_checkout_flow: false });
    await flags.set("new_checkout_flow", true, "acme");
    expect(await flags.getBool("new_checkout_flow", "acme")).toBe(true);
    expect(await flags.getBool("new_checkout_flow")).toBe(false);
    await flags.set("new_checkout_flow", true);
    expect(flags.isEnabled("new_checkout_flow")).toBe(true);
    await flags.setEnabled({ key: "new_checkout_flow", enabled: false, actorUserId: "t", reason: "kill" });
    expect(flags.evaluate("new_checkout_flow", { tenantId: "acme" }).reason).toBe("DISABLED");
  });

  it("takes typed definitions", async () => {
    const defs = defineFlags({ dark_mode: { type: "boolean", default: true } });
    const flags = createTestFlags({}, { definitions: defs });
    expect(await flags.getBool("dark_mode")).toBe(true);
  });
});
