import { describe, expect, it } from "vitest";
import { ConflictError, type IncidentRecord, type IncidentState } from "@ops/core";
import { MemoryIncidentStore } from "../src/index.js";

// The store keeps indexes (active per fingerprint, ids in order, each tenant newest first); these
// cases check them against a brute-force reading of every record after a random history.

function record(i: number, tenantId: string | null, fingerprint: string): Omit<IncidentRecord, "version"> {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i % 7)).toISOString(); // ties in openedAt on purpose
  return {
    id: `inc_${(i * 7919) % 100_003}_${i}`,
    tenantId,
    type: "T",
    state: "open",
    severity: "high",
    title: "t",
    fingerprint,
    openedAt: at,
    updatedAt: at,
    data: {},
  } as Omit<IncidentRecord, "version">;
}

async function all<T>(next: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const p = await next(cursor);
    out.push(...p.items);
    cursor = p.nextCursor;
  } while (cursor);
  return out;
}

describe("memory incident store indexes", () => {
  it("list, scan and findActive agree with a brute-force reading after creates and resolves", async () => {
    const store = new MemoryIncidentStore();
    const tenants = ["a", "b", null];
    const truth = new Map<string, IncidentRecord>();
    let seed = 7;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 400; i++) {
      const t = tenants[i % 3]!;
      const fp = `fp${Math.floor(rnd() * 30)}`;
      try {
        const r = await store.create({ record: record(i, t, fp) });
        truth.set(r.id, r);
      } catch (err) {
        expect(err).toBeInstanceOf(ConflictError);
        const active = [...truth.values()].find((x) => x.tenantId === t && x.fingerprint === fp && x.state !== "resolved");
        expect(active).toBeDefined();
      }
      if (rnd() < 0.5) {
        const open = [...truth.values()].filter((x) => x.state !== "resolved");
        const victim = open[Math.floor(rnd() * open.length)];
        if (victim) {
          const state: IncidentState = rnd() < 0.7 ? "resolved" : "acknowledged";
          truth.set(
            victim.id,
            await store.update({ tenantId: victim.tenantId, id: victim.id, expectedVersion: victim.version, patch: { state } }),
          );
        }
      }
    }
    const byNewest = (x: IncidentRecord, y: IncidentRecord) =>
      x.openedAt === y.openedAt ? (y.id < x.id ? -1 : 1) : y.openedAt < x.openedAt ? -1 : 1;
    for (const t of tenants) {
      const mine = [...truth.values()].filter((x) => x.tenantId === t);
      expect((await all((cursor) => store.list({ tenantId: t, limit: 7, cursor }))).map((x) => x.id)).toEqual(
        mine.sort(byNewest).map((x) => x.id),
      );
      const open = mine
        .filter((x) => x.state === "open")
        .sort(byNewest)
        .map((x) => x.id);
      expect((await all((cursor) => store.list({ tenantId: t, states: ["open"], limit: 5, cursor }))).map((x) => x.id)).toEqual(open);
      for (const fp of new Set(mine.map((x) => x.fingerprint))) {
        const active = mine.find((x) => x.fingerprint === fp && x.state !== "resolved");
        expect((await store.findActive({ tenantId: t, fingerprint: fp }))?.id ?? null).toBe(active?.id ?? null);
      }
    }
    const ids = [...truth.keys()].sort();
    expect((await all((cursor) => store.scan({ limit: 11, cursor }))).map((x) => x.id)).toEqual(ids);
    const activeIds = ids.filter((id) => truth.get(id)!.state !== "resolved");
    expect(
      (await all((cursor) => store.scan({ states: ["open", "acknowledged", "mitigated"], limit: 9, cursor }))).map((x) => x.id),
    ).toEqual(activeIds);
    expect((await all((cursor) => store.scan({ states: ["resolved"], limit: 9, cursor }))).map((x) => x.id)).toEqual(
      ids.filter((id) => truth.get(id)!.state === "resolved"),
    );
  });
});
