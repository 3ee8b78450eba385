import { describe, expect, it } from "vitest";
import { MemoryIncidentStore } from "@ops/adapter-memory";
import { encodeCursor, type IncidentRecord, type IncidentStore } from "@ops/core";
import { incidentStoreCases, type IncidentConformanceOptions } from "../src/index.js";

type Breakage = (store: MemoryIncidentStore) => Partial<IncidentStore>;

function suiteWith(breakage: Breakage): IncidentConformanceOptions {
  return {
    name: "broken",
    create: () => {
      const store = new MemoryIncidentStore();
      return Object.assign(store, breakage(store)) as IncidentStore;
    },
    raw: (store) => ({ readIncident: async (id) => (store as MemoryIncidentStore).rawIncident(id) }),
  };
}

async function runCase(opts: IncidentConformanceOptions, prefix: string): Promise<void> {
  const c = incidentStoreCases(opts).find((x) => x.name.startsWith(prefix));
  if (!c) throw new Error(`no case ${prefix}`);
  await c.run();
}

describe("IncidentStore conformance can fail", () => {
  it("passes against the reference store", async () => {
    for (const c of incidentStoreCases(suiteWith(() => ({})))) await c.run();
  });

  it("rejects a store whose update ignores expectedVersion", async () => {
    const opts = suiteWith((s) => {
      const real = s.update.bind(s);
      return {
        update: async (input) => {
          const cur = s.rawIncident(input.id);
          return real({ ...input, expectedVersion: cur?.version ?? input.expectedVersion });
        },
      };
    });
    await expect(runCase(opts, "update: compare-and-set")).rejects.toThrow();
  });

  it("rejects a store whose create overwrites an existing id", async () => {
    const opts = suiteWith((s) => ({
      create: async (input) => {
        const map = (s as unknown as { byId: Map<string, IncidentRecord> }).byId;
        await new Promise((r) => setImmediate(r));
        const rec = { ...input.record, version: 1 };
        map.set(rec.id, rec);
        return structuredClone(rec);
      },
    }));
    await expect(runCase(opts, "create: exactly one of 20")).rejects.toThrow();
    await expect(runCase(opts, "create: one active incident per fingerprint")).rejects.toThrow();
  });

  it("rejects a store whose get and update ignore the tenant", async () => {
    const opts = suiteWith((s) => ({
      get: async (input) => s.rawIncident(input.id),
    }));
    await expect(runCase(opts, "tenant isolation")).rejects.toThrow();
  });

  it("rejects a store that pages by offset (duplicates under concurrent inserts)", async () => {
    const opts = suiteWith((s) => {
      const real = s.list.bind(s);
      return {
        list: async (input) => {
          const offset = input.cursor ? Number(JSON.parse(Buffer.from(input.cursor, "base64url").toString())[0]) : 0;
          const all = await real({ ...input, cursor: null, limit: 1000 });
          const limit = input.limit ?? 100;
          const items = all.items.slice(offset, offset + limit);
          return { items, nextCursor: offset + limit < all.items.length ? encodeCursor([offset + limit]) : null };
        },
      };
    });
    await expect(runCase(opts, "list: pagination")).rejects.toThrow();
  });
});
