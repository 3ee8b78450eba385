import { describe, expect, it, vi } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { TenantIsolationError } from "@ops/core";
import { TenantScope, scopeStores, currentTenant } from "@ops/tenancy";

describe("README example", () => {
  it("runs as written", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const stores = scopeStores(memoryStores(), { onLeak: (a) => console.warn("refused", a.operation) });
    const scope = new TenantScope("tenant_abc");
    const run = scope.run(async () => {
      console.log(currentTenant()); // "tenant_abc"
      await stores.flags.put({ env: "prod", key: "beta", config: true, expectedVersion: null, actor: "u1" });
      await stores.flags.get({ env: "prod", key: "beta", tenantId: "tenant_xyz" }); // throws TenantIsolationError
    });
    await expect(run).rejects.toThrow(TenantIsolationError);
    expect(log).toHaveBeenCalledWith("tenant_abc");
    expect(warn).toHaveBeenCalledWith("refused", "flags.get");
    warn.mockRestore();
    log.mockRestore();
  });
});
