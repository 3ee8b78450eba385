import { createAuditLog } from "@ops/audit";
import { mapLimit, ValidationError, type AuditRecord, type AuditStore } from "@ops/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodePgExecutor, postgresStores } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();

/** Counts the store's append calls; rejects (as PostgreSQL would, 22021) any record whose reason is "poison". */
function watched(store: AuditStore, calls: { append: number; appendMany: number; chains: number }): AuditStore {
  const poison = (rs: readonly AuditRecord[]) => rs.some((r) => r.reason === "poison");
  const refuse = () => new ValidationError("[ops/test] audit.append: a value cannot be stored (22021: test)");
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "append")
        return async (input: Parameters<AuditStore["append"]>[0]) => {
          calls.append++;
          if (poison(input.records)) throw refuse();
          return target.append(input);
        };
      if (prop === "appendMany")
        return async (input: Parameters<NonNullable<AuditStore["appendMany"]>>[0]) => {
          calls.appendMany++;
          calls.chains += input.batches.length;
          if (input.batches.some((b) => poison(b.records))) throw refuse();
          return target.appendMany!(input);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

describe.skipIf(!up)("audit: cross-chain group commit on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  beforeAll(async () => {
    db = await createSchema("xchain");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("one INSERT carries many tenants' entries, each chain continuous and verifying", async () => {
    const calls = { append: 0, appendMany: 0, chains: 0 };
    const stores = postgresStores(nodePgExecutor(db.pool), { schema: db.schema });
    const log = createAuditLog({ store: watched(stores.audit!, calls), env: "test" });
    const tenants = Array.from({ length: 200 }, (_, i) => `x-${i}`);
    // 200 tenants x 5 entries, all in flight at once.
    await Promise.all(
      tenants.flatMap((tenantId) =>
        Array.from({ length: 5 }, (_, k) => log.append({ action: "DATA_ACCESS", tenantId, actor: { id: `u${k}`, type: "user" } })),
      ),
    );
    expect(calls.appendMany).toBeGreaterThan(0);
    expect(calls.chains).toBeGreaterThan(calls.appendMany * 10); // many chains per statement
    expect(calls.appendMany + calls.append).toBeLessThan(100); // vs 1,000 entries
    await mapLimit(tenants, 8, async (tenantId) => {
      const v = await log.verify({ tenantId });
      expect(v.ok).toBe(true);
      expect(v.checked).toBe(5);
    });
    await log.close?.();
  });

  it("two writers (two processes' logs) appending to the same chains at once: no fork, no gap, no loss", async () => {
    const stores = postgresStores(nodePgExecutor(db.pool), { schema: db.schema });
    const a = createAuditLog({ store: stores.audit!, env: "test" });
    const b = createAuditLog({ store: postgresStores(nodePgExecutor(db.pool), { schema: db.schema }).audit!, env: "test" });
    const tenants = Array.from({ length: 60 }, (_, i) => `y-${i}`);
    const write = (log: typeof a, who: string) =>
      Promise.all(
        tenants.flatMap((tenantId) =>
          Array.from({ length: 4 }, (_, k) => log.append({ action: "DATA_ACCESS", tenantId, actor: { id: `${who}${k}`, type: "user" } })),
        ),
      );
    const [ra, rb] = await Promise.all([write(a, "a"), write(b, "b")]);
    expect(ra).toHaveLength(240);
    expect(rb).toHaveLength(240);
    await mapLimit(tenants, 8, async (tenantId) => {
      const v = await a.verify({ tenantId });
      expect(v.ok).toBe(true);
      expect(v.checked).toBe(8);
      const rows = await stores.audit!.range({ tenantId, fromSeq: 1 });
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(new Set(rows.map((r) => r.id)).size).toBe(8);
    });
  });

  it("an entry the store rejects is split out of the cross-chain batch: it alone fails, the rest are stored and chains verify", async () => {
    const calls = { append: 0, appendMany: 0, chains: 0 };
    const stores = postgresStores(nodePgExecutor(db.pool), { schema: db.schema });
    const log = createAuditLog({ store: watched(stores.audit!, calls), env: "test" });
    const tenants = Array.from({ length: 30 }, (_, i) => `z-${i}`);
    const t0 = Date.now();
    const results = await Promise.allSettled(
      tenants.flatMap((tenantId, i) =>
        Array.from({ length: 6 }, (_, k) =>
          log.append({
            action: "DATA_ACCESS",
            tenantId,
            actor: { id: `u${k}`, type: "user" },
            reason: i === 7 && k === 3 ? "poison" : "ok",
          }),
        ),
      ),
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed).toHaveLength(1);
    expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
    for (const [i, tenantId] of tenants.entries()) {
      const v = await log.verify({ tenantId });
      expect(v.ok).toBe(true);
      expect(v.checked).toBe(i === 7 ? 5 : 6);
    }
    // A clean entry right behind it is stored at once.
    const t1 = Date.now();
    await log.append({ action: "DATA_ACCESS", tenantId: tenants[7]!, actor: { id: "after", type: "user" } });
    expect(Date.now() - t1).toBeLessThan(1_000);
  });
});
