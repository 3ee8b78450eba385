import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { MAX_JSON_DEPTH, ValidationError, type AuditSinkEntry } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";

function nested(depth: number): unknown {
  let v: unknown = true;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

describe("a flag value nested 100,000 levels deep", () => {
  it("is refused with a typed error naming the field, and nothing is written or audited", async () => {
    const store = new MemoryFlagStore();
    const entries: AuditSinkEntry[] = [];
    const c = new FeatureFlagController(store, "prod", { audit: { record: async (e) => void entries.push(e) }, pollIntervalMs: 0 });
    await c.ready();
    for (const call of [
      () => c.setFlag({ key: "deep", newValue: nested(100_000) as never, actorUserId: "alice", reason: "x" }),
      () => c.setFlag({ key: "deep", tenantId: "acme", newValue: nested(100_000) as never, actorUserId: "alice", reason: "x" }),
    ]) {
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).message).toContain(`${MAX_JSON_DEPTH} levels`);
    }
    expect(await store.get({ env: "prod", key: "deep", tenantId: null })).toBeNull();
    expect(await store.get({ env: "prod", key: "deep", tenantId: "acme" })).toBeNull();
    expect(entries).toEqual([]);
    // Well within the bound (the stored config wraps the value in a few levels of its own) is accepted.
    await c.setFlag({ key: "deep", newValue: nested(MAX_JSON_DEPTH - 8) as never, actorUserId: "alice", reason: "x" });
    expect(entries).toHaveLength(1);
  });
});
