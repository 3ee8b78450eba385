import { expect } from "vitest";
import {
  ConflictError,
  ManualClock,
  UnavailableError,
  ValidationError,
  createEffectRelay,
  type AuditSinkEntry,
  type EffectDeadLetter,
  type EffectStore,
  type FlagStore,
  type IncidentStore,
  type PendingEffect,
} from "@ops/core";
import {
  concurrently,
  randomKey,
  randomTenant,
  registerCases,
  withStore,
  type ConformanceCase,
  type ConformanceOptions,
} from "./conformance.js";
import { sampleIncident } from "./incidents.js";

/** The stores of one backend that share its transactional outbox (`OpsStores` with `effects`). */
export interface EffectStores {
  flags: FlagStore;
  incidents: IncidentStore;
  effects: EffectStore;
}

export type EffectConformanceOptions = ConformanceOptions<EffectStores>;

const T0 = Date.parse("2030-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function effect(tenantId: string | null, over: Partial<PendingEffect> = {}): PendingEffect {
  const id = randomKey("eff");
  return {
    id,
    tenantId,
    kind: "audit",
    payload: { action: "FLAG_CHANGE", actor: { id: "alice", type: "user" }, meta: { effectId: id, text: "héllo 🚀 שלום" } },
    createdAt: iso(T0),
    ...over,
  };
}

/** Claims exactly these effects (stores are shared between cases: never claim others' effects). */
async function claimIds(store: EffectStore, ids: readonly string[], nowMs = T0 + 1000, leaseMs = 30_000) {
  return store.claim({ limit: 100, leaseMs, now: iso(nowMs), ids });
}

/**
 * The transactional outbox contract (`EffectStore` and the `effects` of `FlagStore.put/delete`,
 * `IncidentStore.create/update`): an effect is stored exactly when its write commits.
 */
export function effectStoreCases(opts: EffectConformanceOptions): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  const add = (name: string, run: (s: EffectStores) => Promise<void>) =>
    cases.push({ name, requires: ["effects"], run: () => withStore(opts, (s) => run(s)) });

  add("a flag put and delete store their effects with the write; claim hands them out once, complete removes them", async (s) => {
    const t = randomTenant();
    const key = randomKey("f");
    const a = effect(t);
    const b = effect(t, { kind: "notify", payload: { subject: "s", body: "b", severity: "low" } });
    const rec = await s.flags.put({
      env: "prod",
      key,
      tenantId: t,
      config: { value: 1 },
      expectedVersion: null,
      actor: "alice",
      effects: [a, b],
    });
    expect(rec.version).toBe(1);
    const claimed = await claimIds(s.effects, [a.id, b.id]);
    expect(claimed.map((e) => e.id).sort()).toEqual([a.id, b.id].sort());
    const got = claimed.find((e) => e.id === a.id)!;
    expect(got).toMatchObject({ id: a.id, tenantId: t, kind: "audit", payload: a.payload, createdAt: a.createdAt, attempts: 1 });
    expect(await claimIds(s.effects, [a.id, b.id])).toEqual([]); // leased
    await s.effects.complete({ id: a.id });
    await s.effects.complete({ id: b.id });
    await s.effects.complete({ id: b.id }); // idempotent
    expect(await claimIds(s.effects, [a.id, b.id], T0 + 3_600_000)).toEqual([]);

    const d = effect(t);
    await s.flags.delete({ env: "prod", key, tenantId: t, expectedVersion: 1, effects: [d] });
    expect((await claimIds(s.effects, [d.id])).map((e) => e.id)).toEqual([d.id]);
    await s.effects.complete({ id: d.id });
  });

  add("a write that loses its compare-and-set stores none of its effects", async (s) => {
    const t = randomTenant();
    const key = randomKey("f");
    await s.flags.put({ env: "prod", key, tenantId: t, config: 1, expectedVersion: null, actor: "a" });
    const lost = [effect(t), effect(t), effect(t), effect(t)];
    await expect(
      s.flags.put({ env: "prod", key, tenantId: t, config: 2, expectedVersion: null, actor: "a", effects: [lost[0]!] }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      s.flags.put({ env: "prod", key, tenantId: t, config: 2, expectedVersion: 7, actor: "a", effects: [lost[1]!] }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(s.flags.delete({ env: "prod", key, tenantId: t, expectedVersion: 7, effects: [lost[2]!] })).rejects.toBeInstanceOf(
      ConflictError,
    );
    const inc = sampleIncident(t);
    await s.incidents.create({ record: inc });
    await expect(
      s.incidents.update({ tenantId: t, id: inc.id, expectedVersion: 9, patch: { state: "acknowledged" }, effects: [lost[3]!] }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(
      await claimIds(
        s.effects,
        lost.map((e) => e.id),
      ),
    ).toEqual([]);
  });

  add("concurrent writers with one expected version: exactly the winner's effect is stored", async (s) => {
    const t = randomTenant();
    const key = randomKey("f");
    await s.flags.put({ env: "prod", key, tenantId: t, config: 0, expectedVersion: null, actor: "a" });
    const effs = Array.from({ length: 6 }, () => effect(t));
    const r = await concurrently(6, (i) =>
      s.flags.put({ env: "prod", key, tenantId: t, config: i, expectedVersion: 1, actor: "a", effects: [effs[i]!] }),
    );
    expect(r.fulfilled).toHaveLength(1);
    const claimed = await claimIds(
      s.effects,
      effs.map((e) => e.id),
    );
    expect(claimed).toHaveLength(1);
    const winner = (await s.flags.get({ env: "prod", key, tenantId: t }))!.config as number;
    expect(claimed[0]!.id).toBe(effs[winner]!.id);
    await s.effects.complete({ id: claimed[0]!.id });
  });

  add("incident create and update store their effects with the write", async (s) => {
    const t = randomTenant();
    const inc = sampleIncident(t);
    const a = effect(t);
    const b = effect(t);
    await s.incidents.create({ record: inc, effects: [a] });
    await s.incidents.update({ tenantId: t, id: inc.id, expectedVersion: 1, patch: { state: "mitigated" }, effects: [b] });
    expect((await claimIds(s.effects, [a.id, b.id])).map((e) => e.id).sort()).toEqual([a.id, b.id].sort());
    // A create that conflicts (same id) stores nothing.
    const c = effect(t);
    await expect(s.incidents.create({ record: inc, effects: [c] })).rejects.toBeInstanceOf(ConflictError);
    expect(await claimIds(s.effects, [c.id])).toEqual([]);
    await s.effects.complete({ id: a.id });
    await s.effects.complete({ id: b.id });
  });

  add("a malformed effect (NUL, lone surrogate, bad kind) is refused before the write: neither record nor effect is stored", async (s) => {
    const t = randomTenant();
    const key = randomKey("f");
    const bad: PendingEffect[] = [
      effect(t, { payload: { reason: "a\u0000b" } }),
      effect(t, { payload: { reason: "x\ud800y" } }),
      effect(t, { payload: { ["k\u0000"]: 1 } }),
      effect(t, { kind: "nope" as "audit" }),
      effect(t, { createdAt: "yesterday" }),
    ];
    for (const e of bad) {
      await expect(
        s.flags.put({ env: "prod", key, tenantId: t, config: 1, expectedVersion: null, actor: "a", effects: [e] }),
      ).rejects.toBeInstanceOf(ValidationError);
      const inc = sampleIncident(t);
      await expect(s.incidents.create({ record: inc, effects: [e] })).rejects.toBeInstanceOf(ValidationError);
      expect(await s.incidents.get({ tenantId: t, id: inc.id })).toBeNull();
    }
    expect(await s.flags.get({ env: "prod", key, tenantId: t })).toBeNull();
    expect(
      await claimIds(
        s.effects,
        bad.map((e) => e.id),
      ),
    ).toEqual([]);
  });

  add("leases: an expired lease is handed out again (attempts + 1); fail defers to retryAt; kinds filters", async (s) => {
    const t = randomTenant();
    const a = effect(t);
    const n = effect(t, { kind: "notify", payload: { subject: "s" } });
    await s.flags.put({ env: "prod", key: randomKey("f"), tenantId: t, config: 1, expectedVersion: null, actor: "a", effects: [a, n] });
    expect(
      (await s.effects.claim({ limit: 10, leaseMs: 1000, now: iso(T0), ids: [a.id, n.id], kinds: ["notify"] })).map((e) => e.id),
    ).toEqual([n.id]);
    expect(await claimIds(s.effects, [a.id], T0, 1000)).toHaveLength(1);
    expect(await claimIds(s.effects, [a.id], T0 + 500, 1000)).toEqual([]);
    const again = await claimIds(s.effects, [a.id], T0 + 1000, 1000);
    expect(again.map((e) => e.attempts)).toEqual([2]);
    await s.effects.fail({ id: a.id, error: "sink down", retryAt: iso(T0 + 60_000) });
    expect(await claimIds(s.effects, [a.id], T0 + 59_999)).toEqual([]);
    const third = await claimIds(s.effects, [a.id], T0 + 60_000);
    expect(third[0]).toMatchObject({ attempts: 3, lastError: "sink down" });
    await s.effects.fail({ id: "absent-id", error: "x", retryAt: iso(T0) }); // no-op
    await s.effects.complete({ id: a.id });
    await s.effects.complete({ id: n.id });
  });

  add("concurrent claims never hand one effect to two relays", async (s) => {
    const t = randomTenant();
    const effs = Array.from({ length: 20 }, () => effect(t));
    await s.flags.put({ env: "prod", key: randomKey("f"), tenantId: t, config: 1, expectedVersion: null, actor: "a", effects: effs });
    const ids = effs.map((e) => e.id);
    const r = await concurrently(5, () => s.effects.claim({ limit: 7, leaseMs: 60_000, now: iso(T0), ids }));
    const got = r.fulfilled.flat().map((e) => e.id);
    expect(new Set(got).size).toBe(got.length);
    expect(got.length).toBe(20);
    for (const id of ids) await s.effects.complete({ id });
    expect(await s.effects.pending()).toBeGreaterThanOrEqual(0);
  });

  add(
    "the effect relay dead-letters an effect its sink rejects: the ones behind it are delivered in the same pass, the bad one once, never retried",
    async (s) => {
      const t = randomTenant();
      const effs = Array.from({ length: 7 }, () => effect(t));
      effs[3]!.payload = { action: "POISON_ENTRY", actor: { id: "alice", type: "user" }, meta: { effectId: effs[3]!.id } };
      const transient = effect(t);
      await s.flags.put({
        env: "prod",
        key: randomKey("f"),
        tenantId: t,
        config: 1,
        expectedVersion: null,
        actor: "a",
        effects: [...effs, transient],
      });
      const delivered: string[] = [];
      const attempts = new Map<string, number>();
      let down = true;
      // A sink as @ops/audit is one: an entry it cannot keep is a ValidationError (permanent); an
      // outage is an UnavailableError (retryable).
      const audit = {
        record: async (entry: AuditSinkEntry) => {
          const id = String(entry.meta?.effectId ?? "");
          attempts.set(id, (attempts.get(id) ?? 0) + 1);
          if (entry.action === "POISON_ENTRY")
            throw new ValidationError("[ops/audit] invalid audit entry: action: expected a known action");
          if (id === transient.id && down) throw new UnavailableError("[ops/audit] sink down");
          delivered.push(id);
        },
      };
      const dead: EffectDeadLetter[] = [];
      const clock = new ManualClock(T0 + 1000);
      const relay = createEffectRelay({ store: s.effects, audit, clock, onDeadLetter: (d) => dead.push(d) });
      const ids = [...effs, transient].map((e) => e.id);
      await relay.deliver(ids);
      const good = effs.filter((_, i) => i !== 3).map((e) => e.id);
      expect(delivered.slice().sort(), "every effect but the poison and the transient one, in one pass").toEqual(good.slice().sort());
      expect(dead.map((d) => d.effect.id)).toEqual([effs[3]!.id]);
      expect(dead[0]!.reason).toMatch(/^VALIDATION: /);
      expect(relay.stats()).toEqual({ delivered: 6, failed: 1, deadLettered: 1 });
      // Hours later: the transient failure is retried and delivered; the dead letter is not tried again.
      clock.advance(6 * 3_600_000);
      down = false;
      await relay.deliver(ids);
      expect(delivered.slice(good.length)).toEqual([transient.id]);
      expect(attempts.get(effs[3]!.id), "the dead letter is tried once").toBe(1);
      expect(dead).toHaveLength(1);
      expect(await claimIds(s.effects, ids, clock.now() + 3_600_000)).toEqual([]);
    },
  );

  add("claim validates its input", async (s) => {
    await expect(s.effects.claim({ limit: 0, leaseMs: 1, now: iso(T0) })).rejects.toBeInstanceOf(ValidationError);
    await expect(s.effects.claim({ limit: 1, leaseMs: 0, now: iso(T0) })).rejects.toBeInstanceOf(ValidationError);
    await expect(s.effects.claim({ limit: 1, leaseMs: 1, now: "soon" })).rejects.toBeInstanceOf(ValidationError);
  });
  return cases;
}

export function describeEffectStoreConformance(opts: EffectConformanceOptions): void {
  registerCases(
    `${opts.name}: EffectStore conformance (transactional outbox)`,
    effectStoreCases(opts),
    opts.capabilities ?? {},
    opts.timeout,
  );
}
