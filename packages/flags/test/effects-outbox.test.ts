import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { ValidationError, type AuditSinkEntry, type JsonObject, type TenantKey } from "@ops/core";
import { FeatureFlagController } from "../src/index.js";

/** An audit sink with a lookup (as @ops/audit's log has): `down` makes it reject, `crashAfterAppend` appends then throws. */
function sink() {
  const entries: AuditSinkEntry[] = [];
  const state = { down: false, crashAfterAppend: false };
  return {
    entries,
    state,
    async record(e: AuditSinkEntry) {
      if (state.down) throw new Error("audit sink down");
      entries.push(structuredClone(e));
      if (state.crashAfterAppend) throw new Error("connection lost after commit");
    },
    async query(q: { tenantId: TenantKey; targetId?: string; actions?: readonly string[] }) {
      const items = entries
        .filter((e) => (e.tenantId ?? null) === q.tenantId && (!q.targetId || e.target?.id === q.targetId))
        .filter((e) => !q.actions || q.actions.includes(e.action))
        .map((e) => ({ meta: (e.meta ?? null) as JsonObject | null }));
      return { items, nextCursor: null };
    },
  };
}

const versionsOf = (entries: AuditSinkEntry[], key: string) =>
  entries.filter((e) => e.action === "FLAG_CHANGE" && e.target?.id === key).map((e) => (e.meta as { version: number }).version);

describe("flag writes commit their FLAG_CHANGE with the flag (transactional outbox)", () => {
  it("the audit entry is stored in the same write; a failing sink leaves it pending, never lost, and the write resolves", async () => {
    const stores = memoryStores();
    const audit = sink();
    const c = new FeatureFlagController(stores.flags, "prod", { audit, effects: stores.effects, pollIntervalMs: 0, relayPollMs: 60_000 });
    await c.ready();
    await c.setFlag({ key: "kill", newValue: false, actorUserId: "alice", reason: "first" });
    expect(versionsOf(audit.entries, "kill")).toEqual([1]);
    expect(await stores.effects.pending()).toBe(0);

    audit.state.down = true;
    await expect(c.setFlag({ key: "kill", newValue: true, actorUserId: "alice", reason: "second" })).resolves.toMatchObject({ version: 2 });
    await expect(
      c.setFlag({ key: "kill", newValue: false, tenantId: "t1", actorUserId: "bob", reason: "override" }),
    ).resolves.toBeDefined();
    await expect(c.setEnabled({ key: "kill", enabled: false, actorUserId: "carol", reason: "kill switch" })).resolves.toMatchObject({
      version: 3,
    });
    expect(await stores.effects.pending()).toBe(3);
    expect(versionsOf(audit.entries, "kill")).toEqual([1]);

    audit.state.down = false;
    // A relay of ANOTHER controller (another process) delivers the leftovers; backoff has passed.
    const other = new FeatureFlagController(stores.flags, "prod", {
      audit,
      effects: stores.effects,
      pollIntervalMs: 0,
      clock: { now: () => Date.now() + 3_600_000, date: () => new Date(Date.now() + 3_600_000) },
      autoStart: false,
    });
    await (other as unknown as { maintain(): Promise<void> }).maintain();
    expect(await stores.effects.pending()).toBe(0);
    expect(versionsOf(audit.entries, "kill").sort()).toEqual([1, 1, 2, 3]); // tenant t1's override is its own version 1
    expect(audit.entries.find((e) => e.tenantId === "t1")?.reason).toBe("override");
    await c.close();
    await other.close();
  });

  it("a relay that appended but crashed before marking the effect done never appends it twice", async () => {
    const stores = memoryStores();
    const audit = sink();
    let now = Date.now();
    const clock = { now: () => now, date: () => new Date(now) };
    const c = new FeatureFlagController(stores.flags, "prod", {
      audit,
      effects: stores.effects,
      pollIntervalMs: 0,
      clock,
      relayPollMs: 60_000,
    });
    await c.ready();
    audit.state.crashAfterAppend = true;
    await c.setFlag({ key: "f", newValue: 1, actorUserId: "alice", reason: "r" });
    expect(await stores.effects.pending()).toBe(1);
    audit.state.crashAfterAppend = false;
    now += 3_600_000;
    await (c as unknown as { maintain(): Promise<void> }).maintain();
    expect(await stores.effects.pending()).toBe(0);
    expect(versionsOf(audit.entries, "f")).toEqual([1]);
    await c.close();
  });

  it("refused means unchanged: a reason the audit trail cannot store is refused before the flag is written", async () => {
    const stores = memoryStores();
    const audit = sink();
    const c = new FeatureFlagController(stores.flags, "prod", { audit, effects: stores.effects, pollIntervalMs: 0 });
    await c.ready();
    await c.setFlag({ key: "f", newValue: true, actorUserId: "alice", reason: "ok" });
    for (const reason of ["bad\u0000nul", "lone \ud800 surrogate"]) {
      const err = await c.setFlag({ key: "f", newValue: false, actorUserId: "alice", reason }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toBe("reason");
      const err2 = await c.setEnabled({ key: "f", enabled: false, actorUserId: "alice", reason }).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(ValidationError);
    }
    expect((await stores.flags.get({ env: "prod", key: "f", tenantId: null }))?.version).toBe(1);
    expect(await stores.effects.pending()).toBe(0);
    expect(versionsOf(audit.entries, "f")).toEqual([1]);
    await c.close();
  });

  it("a store error at the write leaves neither the flag nor its effect", async () => {
    const stores = memoryStores();
    const audit = sink();
    const c = new FeatureFlagController(stores.flags, "prod", { audit, effects: stores.effects, pollIntervalMs: 0 });
    await c.ready();
    await c.setFlag({ key: "f", newValue: true, actorUserId: "alice", reason: "ok" });
    const put = stores.flags.put.bind(stores.flags);
    stores.flags.put = async () => {
      throw new Error("connection reset");
    };
    await expect(c.setFlag({ key: "f", newValue: false, actorUserId: "alice", reason: "x" })).rejects.toThrow("connection reset");
    stores.flags.put = put;
    expect((await stores.flags.get({ env: "prod", key: "f", tenantId: null }))?.version).toBe(1);
    expect(await stores.effects.pending()).toBe(0);
    await c.close();
  });
});
