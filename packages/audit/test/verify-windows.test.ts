import type { AuditStore } from "@ops/core";
import { describe, expect, it } from "vitest";
import { createAuditLog, verifyStoreChain } from "../src/index.js";
import { memory } from "./helpers.js";

/** A chain of `n` entries in a memory store. */
async function chain(n: number) {
  const { store, clock } = memory();
  const log = createAuditLog({ store, env: "test", clock });
  for (let i = 0; i < n; i++) await log.append({ action: "DATA_ACCESS", tenantId: "t", actor: { id: `u${i}`, type: "user" } });
  await log.close();
  return store;
}

/** The same store with the rows of `hidden` seqs gone from every read (as if deleted behind its back). */
function without(store: AuditStore, hidden: (seq: number) => boolean): AuditStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "range")
        return async (input: Parameters<AuditStore["range"]>[0]) => {
          // Read past the hidden rows, as a store whose rows are really gone would.
          const rows = await target.range({ ...input, limit: 10_000 });
          return rows.filter((r) => !hidden(r.seq)).slice(0, input.limit ?? 1000);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

/**
 * verify reads pages as windows of seqs, several ahead: a window left empty or short by deleted
 * rows must not end the walk early, and a full chain of exactly N windows verifies whole.
 */
describe("verifyStoreChain reads windows ahead without missing rows", () => {
  it("a chain of exactly 3 pages verifies whole; from/to bounds are kept", async () => {
    const store = await chain(30);
    const all = await verifyStoreChain({ store, tenantId: "t", pageSize: 10 });
    expect(all).toMatchObject({ ok: true, checked: 30, lastSeq: 30 });
    const part = await verifyStoreChain({ store, tenantId: "t", pageSize: 10, from: 5, to: 27 });
    expect(part).toMatchObject({ ok: true, checked: 23, lastSeq: 27 });
    const oneWindow = await verifyStoreChain({ store, tenantId: "t", pageSize: 10, from: 11, to: 20 });
    expect(oneWindow).toMatchObject({ ok: true, checked: 10, lastSeq: 20 });
  });

  it("whole windows deleted (seq 11..30 of 50): reported as removed at 11, not a shorter intact chain", async () => {
    const store = without(await chain(50), (seq) => seq >= 11 && seq <= 30);
    const res = await verifyStoreChain({ store, tenantId: "t", pageSize: 10 });
    expect(res.ok).toBe(false);
    expect(res.problem).toMatchObject({ kind: "removed", seq: 11 });
  });

  it("a window cut short in its middle and at the chain's tail", async () => {
    const gap = await verifyStoreChain({ store: without(await chain(40), (seq) => seq === 25), tenantId: "t", pageSize: 10 });
    expect(gap.problem).toMatchObject({ kind: "removed", seq: 25 });
    const tail = await verifyStoreChain({ store: without(await chain(40), (seq) => seq > 35), tenantId: "t", pageSize: 10 });
    expect(tail).toMatchObject({ ok: true, checked: 35 });
  });
});
