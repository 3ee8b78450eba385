import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import type { AuditSinkEntry } from "@ops/core";
import { FeatureFlagController } from "../src/index.js";

function flakySink() {
  const entries: AuditSinkEntry[] = [];
  let down = true;
  return {
    entries,
    up: () => void (down = false),
    async record(e: AuditSinkEntry) {
      if (down) throw new Error("audit sink down");
      entries.push(e);
    },
  };
}

describe("a committed flag write never rejects because its audit entry failed", () => {
  it("setFlag and setValue resolve, the entries wait in order and are written once the sink is back", async () => {
    const store = new MemoryFlagStore();
    const audit = flakySink();
    const errors: string[] = [];
    const c = new FeatureFlagController(store, "prod", {
      audit,
      pollIntervalMs: 0,
      onError: (err, info) => errors.push(`${info.operation}:${(err as Error).message}`),
    });
    await c.ready();
    await expect(c.setFlag({ key: "kill", newValue: true, actorUserId: "alice", reason: "one" })).resolves.toBeDefined();
    await expect(c.setValue({ key: "kill", value: false, actor: "ops-spine", reason: "two" })).resolves.toEqual({ previous: true });
    expect((await store.get({ env: "prod", key: "kill", tenantId: null }))?.config).toMatchObject({ value: false });
    expect(c.pendingAudits()).toBe(2);
    expect(errors[0]).toBe("audit:audit sink down");
    audit.up();
    await c.retryAudits();
    expect(c.pendingAudits()).toBe(0);
    expect(audit.entries.map((e) => [e.action, e.reason, (e.meta as { after: { value: boolean } }).after.value])).toEqual([
      ["FLAG_CHANGE", "one", true],
      ["FLAG_CHANGE", "two", false],
    ]);
    await c.close();
  });
});
