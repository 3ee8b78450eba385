import { describe, expect, it } from "vitest";
import { MemoryAuthEventStore } from "@ops/adapter-memory";
import type { AuthEventRecord, AuthEventStore } from "@ops/core";
import { authEventStoreCases, type AuthEventConformanceOptions } from "../src/index.js";

function suiteWith(breakage: (s: MemoryAuthEventStore) => Partial<AuthEventStore>): AuthEventConformanceOptions {
  return {
    name: "broken",
    create: () => {
      const store = new MemoryAuthEventStore();
      return Object.assign(store, breakage(store)) as AuthEventStore;
    },
    raw: (store) => ({
      readEvent: async (id) => (store as MemoryAuthEventStore).rawEvent(id),
      countId: async (id) => (store as MemoryAuthEventStore).rawCount(id),
    }),
  };
}

async function runCase(opts: AuthEventConformanceOptions, prefix: string): Promise<void> {
  const c = authEventStoreCases(opts).find((x) => x.name.startsWith(prefix));
  if (!c) throw new Error(`no case ${prefix}`);
  await c.run();
}

describe("AuthEventStore conformance can fail", () => {
  it("passes against the reference store", async () => {
    for (const c of authEventStoreCases(suiteWith(() => ({})))) await c.run();
  });

  it("rejects a store that overwrites repeated ids and counts them as inserted", async () => {
    const opts = suiteWith((s) => ({
      append: async (input) => {
        const map = (s as unknown as { byId: Map<string, AuthEventRecord> }).byId;
        await new Promise((r) => setImmediate(r));
        for (const e of input.events) map.set(e.id, structuredClone(e));
        return { inserted: input.events.length };
      },
    }));
    await expect(runCase(opts, "append stores every field")).rejects.toThrow();
    await expect(runCase(opts, "20 concurrent appends")).rejects.toThrow();
  });

  it("rejects a store whose countByType ignores the tenant", async () => {
    const opts = suiteWith((s) => ({
      countByType: async (input) => {
        const out: Record<string, number> = {};
        for (const e of (s as unknown as { byId: Map<string, AuthEventRecord> }).byId.values())
          if (e.occurredAt >= input.from && e.occurredAt < input.to) out[e.type] = (out[e.type] ?? 0) + 1;
        return out;
      },
    }));
    await expect(runCase(opts, "tenant isolation")).rejects.toThrow();
  });

  it("rejects a store whose range filter includes `to`", async () => {
    const opts = suiteWith((s) => {
      const real = s.countByType.bind(s);
      return { countByType: (input) => real({ ...input, to: new Date(Date.parse(input.to) + 1).toISOString() }) };
    });
    await expect(runCase(opts, "countByType counts")).rejects.toThrow();
  });
});
