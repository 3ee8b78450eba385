// The opening example of adapters/memory/README.md, as written.
import { expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { FeatureFlagController } from "@ops/flags";
import { createAuditLog } from "@ops/audit";

it("adapters/memory README example runs as written", async () => {
  const stores = memoryStores(); // audit, auditKeys, flags, incidents, authEvents, outbox, counters
  const audit = createAuditLog({ store: stores.audit });
  const flags = new FeatureFlagController(stores.flags, "prod", { audit });
  await flags.setFlag({ key: "new_checkout_flow", newValue: true, actorUserId: "admin_1", reason: "launch" });
  expect(await flags.getBool("new_checkout_flow")).toBe(true);
  const page = await stores.audit.query({ tenantId: null });
  expect(page.items.map((e) => e.action)).toEqual(["FLAG_CHANGE"]);
  await flags.close();
  await stores.close();
});
