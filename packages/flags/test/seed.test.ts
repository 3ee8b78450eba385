import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { FeatureFlagController } from "@ops/flags";

describe("the seed's README example", () => {
  it("runs as written", async () => {
    const store = memoryStores().flags;
    const controller = new FeatureFlagController(store, "prod");

    // Enable/disable features at runtime
    await controller.setFlag({
      key: "new_checkout_flow",
      newValue: true,
      actorUserId: "admin_123",
      tenantId: "tenant_abc", // Optional: tenant-specific override
      reason: "Gradual rollout to 10% of users",
    });

    // Check if enabled
    const enabled = await controller.getBool("new_checkout_flow");
    expect(enabled).toBe(false);
    expect(await controller.getBool("new_checkout_flow", "tenant_abc")).toBe(true);
    expect(controller.evaluate("new_checkout_flow", { tenantId: "tenant_abc" })).toMatchObject({ value: true, reason: "TENANT_OVERRIDE" });

    await controller.setFlag({ key: "new_checkout_flow", newValue: true, actorUserId: "admin_123", reason: "launch" });
    expect(await controller.getBool("new_checkout_flow")).toBe(true);
    expect(controller.evaluate("new_checkout_flow")).toMatchObject({ value: true, reason: "STATIC", errorCode: null });

    // A second process (another controller on the same store) sees it too.
    const other = new FeatureFlagController(store, "prod");
    expect(await other.getBool("new_checkout_flow")).toBe(true);
    expect(await other.getBool("new_checkout_flow", "tenant_abc")).toBe(true);
    await controller.close();
    await other.close();
  });
});
