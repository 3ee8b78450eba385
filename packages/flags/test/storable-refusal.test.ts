import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { ValidationError, type AuditSink, type AuditSinkEntry } from "@ops/core";
import { FeatureFlagController } from "@ops/flags";

// Unstorable text (NUL, a lone surrogate) is refused before the first store call: the typed error
// names the caller's field, and the flag keeps its version (no unaudited change).

async function setup() {
  const store = new MemoryFlagStore();
  const entries: AuditSinkEntry[] = [];
  const audit: AuditSink = { record: async (e) => void entries.push(e) };
  const c = new FeatureFlagController(store, "prod", { audit, pollIntervalMs: 0 });
  await c.ready();
  await c.setFlag({ key: "f", newValue: true, actorUserId: "alice", reason: "launch" });
  return { store, c, entries };
}

async function refusal(p: Promise<unknown>): Promise<ValidationError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe("flag writes refuse unstorable text before writing", () => {
  const poison = { nul: "x\u0000y", lone: "x\ud800y" };
  for (const [label, bad] of Object.entries(poison)) {
    it(`${label}: reason, actor, value, a tenant override and the kill switch leave the flag at its version`, async () => {
      const { store, c, entries } = await setup();
      const before = await store.get({ env: "prod", key: "f", tenantId: null });
      const cases: Array<[Promise<unknown>, string]> = [
        [c.setFlag({ key: "f", newValue: false, actorUserId: "alice", reason: bad }), "reason"],
        [c.setFlag({ key: "f", newValue: false, actorUserId: bad, reason: "r" }), "actorUserId"],
        [c.setFlag({ key: "f", newValue: false, tenantId: "acme", actorUserId: "alice", reason: bad }), "reason"],
        [c.setEnabled({ key: "f", enabled: false, actorUserId: "alice", reason: bad }), "reason"],
        [c.setValue({ key: "f", value: { k: bad }, actor: "alice", reason: "r" }), "value.k"],
        [c.setValue({ key: "f", value: false, actor: bad, reason: "r" }), "actor"],
        [c.clearValue({ key: "f", tenantId: "acme", actor: "alice", reason: bad }), "reason"],
      ];
      for (const [p, field] of cases) {
        const err = await refusal(p);
        expect(err.issues[0]?.path).toBe(field);
        expect(err.message).toContain(field);
      }
      expect(await store.get({ env: "prod", key: "f", tenantId: null })).toEqual(before);
      expect(await store.get({ env: "prod", key: "f", tenantId: "acme" })).toBeNull();
      expect(entries).toHaveLength(1);
    });
  }
});
