import { ConflictError } from "@ops/core";
import { describe, expect, it } from "vitest";
import { memoryStores } from "../src/index.js";

describe("memory adapter conflicts", () => {
  it("a duplicate flag says retryable: false; a lost compare-and-set says retryable: true", async () => {
    const stores = memoryStores();
    await stores.flags.put({ env: "prod", key: "dup", tenantId: null, config: true, expectedVersion: null, actor: "u1" });
    const dup = await stores.flags.put({ env: "prod", key: "dup", tenantId: null, config: false, expectedVersion: null, actor: "u1" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(dup).toBeInstanceOf(ConflictError);
    expect((dup as ConflictError).retryable).toBe(false);
    const stale = await stores.flags.put({ env: "prod", key: "dup", tenantId: null, config: false, expectedVersion: 7, actor: "u1" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).retryable).toBe(true);
    await stores.close();
  });
});
