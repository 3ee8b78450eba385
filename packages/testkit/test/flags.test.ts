import { describe, expect, it } from "vitest";
import { MEMORY_CAPABILITIES, MemoryFlagStore } from "@ops/adapter-memory";
import { ConflictError, encodeCursor, decodeCursor, type FlagChange, type FlagStore } from "@ops/core";
import { flagStoreCases, type FlagConformanceOptions } from "@ops/testkit";

type Flaw = "ignoresExpectedVersion" | "leaksTenants" | "offsetPaging" | "silentSubscribe" | "sharedConfig";

/** A memory store with one deliberate contract violation. */
function brokenStore(flaw: Flaw): FlagStore {
  const inner = new MemoryFlagStore();
  const store: FlagStore = {
    capabilities: inner.capabilities,
    close: () => inner.close(),
    get: async (input) => {
      const rec = await inner.get(input);
      if (rec || flaw !== "leaksTenants" || input.tenantId === null) return rec;
      return inner.get({ ...input, tenantId: null });
    },
    put: async (input) => {
      if (flaw !== "ignoresExpectedVersion") return inner.put(input);
      // Blind overwrite (last write wins): every writer "succeeds" and updates get lost.
      for (;;) {
        try {
          return await inner.put({ ...input, expectedVersion: inner.peek(input)?.version ?? null });
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
        }
      }
    },
    delete: (input) => inner.delete(input),
    list: async (input) => {
      if (flaw !== "offsetPaging") return inner.list(input);
      const offset = input.cursor ? (decodeCursor(input.cursor, 1)[0] as number) : 0;
      const all = (await inner.list({ env: input.env, tenantId: input.tenantId, limit: 1000 })).items;
      const limit = input.limit ?? 100;
      const items = all.slice(offset, offset + limit);
      return { items, nextCursor: offset + limit < all.length ? encodeCursor([offset + limit]) : null };
    },
    snapshot: (input) => inner.snapshot(input),
    subscribe: (listener: (c: FlagChange) => void) => (flaw === "silentSubscribe" ? () => {} : inner.subscribe(listener)),
  };
  if (flaw === "sharedConfig") {
    const configs = new Map<string, unknown>();
    store.put = async (input) => {
      const rec = await inner.put(input);
      configs.set(`${input.env}/${input.tenantId}/${input.key}`, input.config);
      return { ...rec, config: input.config };
    };
    store.get = async (input) => {
      const rec = await inner.get(input);
      const cfg = configs.get(`${input.env}/${input.tenantId}/${input.key}`);
      return rec && cfg !== undefined ? { ...rec, config: cfg as never } : rec;
    };
  }
  return store;
}

function opts(flaw: Flaw | null): FlagConformanceOptions {
  return {
    name: flaw ?? "memory",
    create: () => (flaw ? brokenStore(flaw) : new MemoryFlagStore()),
    capabilities: MEMORY_CAPABILITIES,
  };
}

async function outcome(flaw: Flaw | null, caseName: string): Promise<"pass" | "fail"> {
  const c = flagStoreCases(opts(flaw)).find((x) => x.name.startsWith(caseName));
  if (!c) throw new Error(`no case ${caseName}`);
  try {
    await c.run();
    return "pass";
  } catch {
    return "fail";
  }
}

describe("FlagStore conformance can fail", () => {
  const expectations: [Flaw, string][] = [
    ["ignoresExpectedVersion", "compare-and-set: exactly one of 20 concurrent updaters wins"],
    ["ignoresExpectedVersion", "compare-and-set: exactly one of 20 concurrent creators wins"],
    ["leaksTenants", "tenant isolation on get, put, delete and list"],
    ["offsetPaging", "list is stable under concurrent inserts and deletes"],
    ["silentSubscribe", "subscribe delivers every committed change"],
    ["sharedConfig", "records returned are copies"],
  ];
  for (const [flaw, name] of expectations) {
    it(`a store that ${flaw} fails "${name}" (and the memory store passes it)`, async () => {
      expect(await outcome(flaw, name)).toBe("fail");
      expect(await outcome(null, name)).toBe("pass");
    });
  }

  it("every case is named uniquely and the pubsub case is capability-gated", () => {
    const cases = flagStoreCases(opts(null));
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.filter((c) => c.requires?.includes("pubsub")).length).toBe(1);
  });
});
