import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { ConflictError, NotFoundError, ValidationError, type AuditSink, type AuditSinkEntry } from "@ops/core";
import { FeatureFlagController, defineFlags } from "@ops/flags";

function auditSink(): AuditSink & { entries: AuditSinkEntry[] } {
  const entries: AuditSinkEntry[] = [];
  return { entries, record: async (e) => void entries.push(structuredClone(e)) };
}

async function setup() {
  const store = new MemoryFlagStore();
  const audit = auditSink();
  const c = new FeatureFlagController(store, "prod", { audit, pollIntervalMs: 0 });
  await c.ready();
  return { store, audit, c };
}

describe("writes", () => {
  it("every write is audited as FLAG_CHANGE with actor, reason, before and after", async () => {
    const { c, audit } = await setup();
    await c.setFlag({ key: "f", newValue: true, actorUserId: "alice", reason: "launch" });
    await c.setFlag({ key: "f", newValue: false, actorUserId: "bob", reason: "rollback", tenantId: "acme" });
    await c.setEnabled({ key: "f", enabled: false, actorUserId: "carol", reason: "incident INC-1" });
    await c.clearTenantOverride({ key: "f", tenantId: "acme", actorUserId: "bob", reason: "done" });
    expect(audit.entries.map((e) => [e.action, e.actor.id, e.reason, e.tenantId, (e.meta as { operation: string }).operation])).toEqual([
      ["FLAG_CHANGE", "alice", "launch", null, "set"],
      ["FLAG_CHANGE", "bob", "rollback", "acme", "set"],
      ["FLAG_CHANGE", "carol", "incident INC-1", null, "disable"],
      ["FLAG_CHANGE", "bob", "done", "acme", "clear"],
    ]);
    const kill = audit.entries[2]!.meta as { before: { enabled: boolean }; after: { enabled: boolean }; env: string; version: number };
    expect(kill.before.enabled).toBe(true);
    expect(kill.after.enabled).toBe(false);
    expect(kill.env).toBe("prod");
    expect(kill.version).toBe(2);
    expect(audit.entries[0]!.meta).toMatchObject({ before: null, after: { type: "boolean", value: true } });
    expect(audit.entries[3]!.meta).toMatchObject({ before: { value: false }, after: null, version: 0 });
  });

  it("20 concurrent writers: no lost update, one audit entry each, versions 1..20", async () => {
    const { c, store, audit } = await setup();
    const writers = Array.from({ length: 20 }, (_, i) => i);
    await Promise.all(writers.map((i) => c.setFlag({ key: "counter", newValue: i, actorUserId: `w${i}`, reason: "race" })));
    const rec = await store.get({ env: "prod", key: "counter", tenantId: null });
    expect(rec?.version).toBe(20);
    const counterAudits = audit.entries.filter((e) => e.target?.id === "counter");
    expect(counterAudits).toHaveLength(20);
    // The audit trail is a chain: each entry's before is the previous entry's after.
    for (let i = 1; i < counterAudits.length; i++)
      expect((counterAudits[i]!.meta as { before: unknown }).before).toEqual((counterAudits[i - 1]!.meta as { after: unknown }).after);
  });

  it("concurrent different edits compose (a kill switch is not lost to a rules edit)", async () => {
    const { c, store } = await setup();
    await c.setFlag({ key: "f", newValue: false, actorUserId: "a", reason: "init" });
    const other = new FeatureFlagController(store, "prod", { pollIntervalMs: 0 });
    await other.ready();
    await Promise.all([
      c.setEnabled({ key: "f", enabled: false, actorUserId: "a", reason: "kill" }),
      other.setRules({ key: "f", rules: [{ id: "r", serve: { value: true } }], actorUserId: "b", reason: "rules" }),
      other.setRollout({ key: "f", rollout: { percentage: 5 }, actorUserId: "b", reason: "rollout" }),
    ]);
    const stored = (await store.get({ env: "prod", key: "f", tenantId: null }))!.config as {
      enabled: boolean;
      rules: unknown[];
      rollout: unknown;
    };
    expect(stored.enabled).toBe(false);
    expect(stored.rules).toHaveLength(1);
    expect(stored.rollout).toEqual({ percentage: 5 });
  });

  it("expectedVersion makes a write strict: exactly one of 20 wins", async () => {
    const { c, store } = await setup();
    await c.setFlag({ key: "f", newValue: 0, actorUserId: "a", reason: "init" });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => c.setFlag({ key: "f", newValue: i + 1, actorUserId: "a", reason: "cas", expectedVersion: 1 })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(rejected.every((r) => r.reason instanceof ConflictError)).toBe(true);
    expect((await store.get({ env: "prod", key: "f", tenantId: null }))?.version).toBe(2);
  });

  it("bad input throws ValidationError naming the field and changes nothing", async () => {
    const { c, store, audit } = await setup();
    await c.setFlag({ key: "f", newValue: true, actorUserId: "a", reason: "init" });
    const bad: [unknown, RegExp][] = [
      [{ key: "", newValue: true, actorUserId: "a", reason: "r" }, /key/],
      [{ key: "has space", newValue: true, actorUserId: "a", reason: "r" }, /key/],
      [{ key: "f", newValue: true, actorUserId: "", reason: "r" }, /actorUserId/],
      [{ key: "f", newValue: true, actorUserId: "a", reason: "" }, /reason/],
      [{ key: "f", newValue: true, actorUserId: "a", reason: "r", tenantId: "bad tenant!" }, /tenantId/],
      [{ key: "f", newValue: undefined, actorUserId: "a", reason: "r" }, /newValue/],
      [{ key: "f", newValue: "yes", actorUserId: "a", reason: "r" }, /newValue.*boolean/],
      [{ key: "f", newValue: Number.NaN, actorUserId: "a", reason: "r" }, /newValue/],
    ];
    for (const [input, field] of bad) {
      const err = await c.setFlag(input as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(input)).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/^\[ops\/flags\]/);
      expect((err as Error).message).toMatch(field);
    }
    await expect(c.setRollout({ key: "f", rollout: { percentage: 130 }, actorUserId: "a", reason: "r" })).rejects.toThrow(/percentage/);
    await expect(
      c.setRollout({ key: "f", rollout: { split: [{ weight: 70 }, { weight: 40 }] }, actorUserId: "a", reason: "r" }),
    ).rejects.toThrow(/split/);
    await expect(c.setEnabled({ key: "missing", enabled: false, actorUserId: "a", reason: "r" })).rejects.toThrow(/missing/);
    expect(() => new FeatureFlagController(store, "Prod Env")).toThrow(ValidationError);
    expect((await store.get({ env: "prod", key: "f", tenantId: null }))?.version).toBe(1);
    expect(audit.entries).toHaveLength(1);
  });

  it("every write method validates its input and writes nothing on bad input", async () => {
    const { c, store, audit } = await setup();
    await c.setFlag({ key: "f", newValue: true, actorUserId: "a", reason: "init" });
    const who = { key: "f", actorUserId: "a", reason: "r" };
    const calls: [string, () => Promise<unknown>, RegExp][] = [
      ["updateFlag", () => c.updateFlag({ ...who, patch: { enabled: "yes" as never } }), /patch\.enabled/],
      ["updateFlag unknown field", () => c.updateFlag({ ...who, patch: { colour: "red" } as never }), /patch/],
      ["setEnabled", () => c.setEnabled({ ...who, enabled: 1 as never }), /enabled/],
      ["setRules", () => c.setRules({ ...who, rules: [{ id: "", serve: { value: true } }] }), /rules\[0\]\.id/],
      [
        "setRules op",
        () => c.setRules({ ...who, rules: [{ id: "r", when: [{ attr: "a", op: "like" as never, value: "x" }], serve: { value: true } }] }),
        /op/,
      ],
      ["setRules serve", () => c.setRules({ ...who, rules: [{ id: "r", serve: {} }] }), /serve/],
      ["setRollout", () => c.setRollout({ ...who, rollout: { percentage: 10, split: [{ weight: 10 }] } }), /exactly one/],
      ["clearTenantOverride", () => c.clearTenantOverride({ ...who, tenantId: "" }), /tenantId/],
      ["deleteFlag", () => c.deleteFlag({ ...who, reason: " " }), /reason/],
      [
        "defineSegment",
        () => c.defineSegment({ name: "s", segment: { include: "u1" as never }, actorUserId: "a", reason: "r" }),
        /segment\.include/,
      ],
      ["scheduleChange", () => c.scheduleChange({ ...who, at: "2026-13-45", patch: { value: false } }), /at/],
      ["cancelScheduledChange", () => c.cancelScheduledChange({ ...who, id: "" }), /id/],
    ];
    for (const [name, call, field] of calls) {
      const err = await call().catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(ValidationError);
      expect((err as Error).message, name).toMatch(/^\[ops\/flags\]/);
      expect((err as Error).message, name).toMatch(field);
    }
    expect((await store.get({ env: "prod", key: "f", tenantId: null }))?.version).toBe(1);
    expect(await store.snapshot({ env: "prod" })).toHaveLength(1);
    expect(audit.entries).toHaveLength(1);
  });

  it("20 concurrent tenant-override writers and a concurrent kill switch all land", async () => {
    const { c, store, audit } = await setup();
    await c.setFlag({ key: "f", newValue: false, actorUserId: "a", reason: "init" });
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) =>
        c.setFlag({ key: "f", newValue: true, tenantId: `t${i % 4}`, actorUserId: `w${i}`, reason: "r" }),
      ),
      c.setEnabled({ key: "f", enabled: false, actorUserId: "k", reason: "kill" }),
    ]);
    for (let t = 0; t < 4; t++) expect((await store.get({ env: "prod", key: "f", tenantId: `t${t}` }))?.version).toBe(5);
    expect(((await store.get({ env: "prod", key: "f", tenantId: null }))?.config as { enabled: boolean }).enabled).toBe(false);
    expect(audit.entries).toHaveLength(22);
    expect(c.evaluate("f", { tenantId: "t1" }).reason).toBe("DISABLED");
  });

  it("deleteFlag removes the flag and every tenant override, also ones written by another process", async () => {
    const { c, store, audit } = await setup();
    await c.setFlag({ key: "f", newValue: true, actorUserId: "a", reason: "r" });
    await c.setFlag({ key: "f", newValue: false, tenantId: "t1", actorUserId: "a", reason: "r" });
    await store.put({ env: "prod", key: "f", tenantId: "t2", config: { value: false }, expectedVersion: null, actor: "elsewhere" });
    await store.put({ env: "prod", key: "other", tenantId: "t2", config: { value: true }, expectedVersion: null, actor: "elsewhere" });
    await c.deleteFlag({ key: "f", actorUserId: "a", reason: "cleanup" });
    expect((await store.snapshot({ env: "prod" })).map((r) => `${r.key}/${r.tenantId}`)).toEqual(["other/t2"]);
    expect(audit.entries.filter((e) => (e.meta as { operation: string }).operation === "delete")).toHaveLength(3);
    await expect(c.deleteFlag({ key: "f", actorUserId: "a", reason: "again" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("when the audit sink rejects, the committed write resolves and its entry waits for a retry", async () => {
    const store = new MemoryFlagStore();
    const audit = { record: async () => Promise.reject(new Error("audit down")) };
    const c = new FeatureFlagController(store, "prod", { audit, pollIntervalMs: 0, onError: () => {} });
    await expect(c.setFlag({ key: "f", newValue: true, actorUserId: "a", reason: "r" })).resolves.toBeDefined();
    expect((await store.get({ env: "prod", key: "f", tenantId: null }))?.version).toBe(1);
    expect(c.isEnabled("f")).toBe(true);
    expect(c.pendingAudits()).toBe(1);
  });

  it("implements FlagWriter: set returns the previous value, clear restores unset", async () => {
    const { c, audit } = await setup();
    const w = c.asFlagWriter();
    expect(await w.getValue({ key: "captcha" })).toBeUndefined();
    expect(await w.setValue({ key: "captcha", value: true, actor: "incident-bot", reason: "FAILED_LOGINS_SPIKE" })).toEqual({
      previous: undefined,
    });
    expect(await w.setValue({ key: "captcha", value: false, tenantId: "t1", actor: "incident-bot", reason: "spike" })).toEqual({
      previous: undefined,
    });
    expect(await w.getValue({ key: "captcha" })).toBe(true);
    expect(await w.getValue({ key: "captcha", tenantId: "t1" })).toBe(false);
    expect(c.isEnabled("captcha", { tenantId: "t1" })).toBe(false);
    await w.clearValue!({ key: "captcha", tenantId: "t1", actor: "incident-bot", reason: "rollback" });
    await w.clearValue!({ key: "captcha", actor: "incident-bot", reason: "rollback" });
    expect(await w.getValue({ key: "captcha" })).toBeUndefined();
    expect(c.isEnabled("captcha")).toBe(false);
    expect(audit.entries).toHaveLength(4);
  });

  it("defined flags serve their default until written, and writes are type-checked", async () => {
    const flags = defineFlags({
      new_checkout_flow: { type: "boolean", default: false, description: "new checkout", owner: "team-pay" },
      banner: { type: "string", default: "hello" },
    });
    const store = new MemoryFlagStore();
    const c = new FeatureFlagController(store, "prod", { definitions: flags, pollIntervalMs: 0 });
    expect(await c.getBool("new_checkout_flow")).toBe(false);
    expect(c.evaluate("new_checkout_flow")).toMatchObject({ reason: "DEFAULT", errorCode: null });
    expect(await c.getString("banner")).toBe("hello");
    await expect(c.setFlag({ key: "banner", newValue: 3, actorUserId: "a", reason: "r" })).rejects.toThrow(/string/);
    await c.setEnabled({ key: "new_checkout_flow", enabled: false, actorUserId: "a", reason: "create from definition" });
    expect(c.getFlag("new_checkout_flow")?.config).toMatchObject({ type: "boolean", owner: "team-pay", enabled: false });
    // @ts-expect-error: "banner" is a string flag, not a boolean one
    void c.getBool("banner");
    // @ts-expect-error: unknown key
    void c.getBool("nope");
    expect(() => defineFlags({ x: { type: "boolean", default: "no" as never } })).toThrow(/default/);
    expect(() => defineFlags({ "bad key": { type: "boolean", default: false } })).toThrow(ValidationError);
  });

  it("a change made by another controller arrives through the subscription", async () => {
    const store = new MemoryFlagStore();
    const a = new FeatureFlagController(store, "prod", { pollIntervalMs: 0 });
    const b = new FeatureFlagController(store, "prod", { pollIntervalMs: 0 });
    await Promise.all([a.ready(), b.ready()]);
    const seen = new Promise<readonly string[]>((resolve) => b.watch(resolve));
    await a.setFlag({ key: "f", newValue: true, actorUserId: "a", reason: "r" });
    expect(await seen).toEqual(["f"]);
    expect(b.isEnabled("f")).toBe(true);
    // Deleted and re-created elsewhere (version back to 1): b must not keep the old version.
    await a.setFlag({ key: "f", newValue: false, actorUserId: "a", reason: "r" });
    await a.deleteFlag({ key: "f", actorUserId: "a", reason: "r" });
    const recreated = new Promise<void>((resolve) => b.watch(() => b.getFlag("f")?.version === 1 && resolve()));
    await a.setFlag({ key: "f", newValue: true, actorUserId: "a", reason: "r" });
    await recreated;
    expect(b.isEnabled("f")).toBe(true);
    const staging = new FeatureFlagController(store, "staging", { pollIntervalMs: 0 });
    expect(await staging.getBool("f")).toBe(false);
  });
});

describe("tenant override type (review)", () => {
  it("a tenant override of the wrong type is refused even before this controller loaded the flag", async () => {
    const store = new MemoryFlagStore();
    const admin = new FeatureFlagController(store, "prod", { pollIntervalMs: 0 });
    await admin.setFlag({ key: "b", newValue: false, actorUserId: "a", reason: "r" });
    const fresh = new FeatureFlagController(store, "prod", { pollIntervalMs: 0, autoStart: false });
    await expect(fresh.setFlag({ key: "b", newValue: "yes", tenantId: "t1", actorUserId: "a", reason: "r" })).rejects.toThrow(
      /newValue.*expected a boolean/,
    );
    expect(await store.get({ env: "prod", key: "b", tenantId: "t1" })).toBeNull();
    await fresh.setFlag({ key: "b", newValue: true, tenantId: "t1", actorUserId: "a", reason: "r" });
    expect((await store.get({ env: "prod", key: "b", tenantId: "t1" }))?.config).toEqual({ value: true });
  });
});

describe("audit entries of large flags (review)", () => {
  it("a flag with a long `in` list stays auditable: the kill switch resolves and its entry holds the change", async () => {
    // Holds the default meta limit of @ops/audit's createAuditLog (16 KiB of JSON).
    const entries: AuditSinkEntry[] = [];
    const audit: AuditSink = {
      record: async (e) => {
        if (Buffer.byteLength(JSON.stringify(e.meta)) > 16_384)
          throw new ValidationError("[ops/audit] invalid audit entry: meta: too large", []);
        entries.push(structuredClone(e));
      },
    };
    const store = new MemoryFlagStore();
    const c = new FeatureFlagController(store, "prod", { pollIntervalMs: 0, audit });
    await c.setFlag({ key: "f", newValue: false, actorUserId: "a", reason: "create" });
    const ids = Array.from({ length: 1500 }, (_, i) => `user_${i}`);
    await c.setRules({
      key: "f",
      rules: [{ id: "beta", when: [{ attr: "userId", op: "in", values: ids }], serve: { value: true } }],
      actorUserId: "a",
      reason: "beta",
    });
    await c.setEnabled({ key: "f", enabled: false, actorUserId: "oncall", reason: "incident" });
    expect(entries.map((e) => (e.meta as { operation: string }).operation)).toEqual(["set", "rules", "disable"]);
    const kill = entries[2]!.meta as { before: unknown; after: unknown; abridged?: boolean; version: number };
    expect(kill).toMatchObject({ before: { enabled: true }, after: { enabled: false }, abridged: true, version: 3 });
    const rules = entries[1]!.meta as { after: { rules: { $digest: string } } };
    expect(rules.after.rules.$digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
