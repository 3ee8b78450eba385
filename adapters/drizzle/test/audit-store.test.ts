import { ConflictError, TenantIsolationError, ValidationError, type AuditRecord } from "@ops/core";
import { concurrently, randomTenant } from "@ops/testkit";
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { mapDbError } from "../src/index.js";
import { chainRecords } from "./support/audit-records.js";
import { forEachDriver } from "./support/drivers.js";

await forEachDriver("audit", (driver, harness) => {
  it("stores records exactly: range returns them deep-equal, optional fields absent, ts to the millisecond", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    const records = chainRecords(tenant, 3, null, (i) =>
      i === 0
        ? {
            actor: { id: "u1", type: "user", ip: "203.0.113.9", userAgent: "Mozilla/5.0 \u00e9\u{1F600}" },
            subject: { id: "s1", type: "customer" },
            target: { id: "doc-1", type: "document", name: 'Q1 "report"' },
            reason: "  kept as is  ",
            surface: "admin",
            requestId: "req-1",
            correlationId: "corr-1",
            meta: { email: "a@example.com", big: 12345678901234, neg: -0.5, uni: "\u00fc\u4e2d", arr: [{ b: 1, a: 2 }] },
            sealed: { keyId: "k1", alg: "A256GCM", iv: "aXY=", data: "ZGF0YQ==", fields: ["actor.ip"] },
          }
        : i === 1
          ? { subject: { id: "s2" }, target: { id: "t2" }, outcome: "failure", ts: "2026-03-04T05:06:07.089Z" }
          : {},
    );
    await stores.audit.append({ tenantId: tenant, records });
    const back = await stores.audit.range({ tenantId: tenant, fromSeq: 1 });
    expect(back).toEqual(records);
    expect(back[1]).not.toHaveProperty("reason");
    expect(back[1]!.subject).toEqual({ id: "s2" });
    expect(back[1]!.ts).toBe("2026-03-04T05:06:07.089Z");
    expect(await stores.audit.head({ tenantId: tenant })).toEqual({ seq: 3, hash: records[2]!.hash });
  });

  it("the global chain (null tenant) is one chain, apart from every tenant's", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    const head = await stores.audit.head({ tenantId: null });
    await stores.audit.append({ tenantId: null, records: chainRecords(null, 2, head) });
    await expect(stores.audit.append({ tenantId: null, records: chainRecords(null, 1, head) })).rejects.toBeInstanceOf(ConflictError);
    await stores.audit.append({ tenantId: tenant, records: chainRecords(tenant, 1) });
    expect((await stores.audit.head({ tenantId: null }))!.seq).toBe((head?.seq ?? 0) + 2);
    expect((await stores.audit.head({ tenantId: tenant }))!.seq).toBe(1);
    const chains = await stores.audit.chains({ limit: 1000 });
    expect(chains.items[0]).toBeNull();
    expect(chains.items).toContain(tenant);
  });

  it("a taken seq or a record that does not continue the head is a ConflictError and writes nothing", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    const first = chainRecords(tenant, 2);
    await stores.audit.append({ tenantId: tenant, records: first });
    await expect(
      stores.audit.append({ tenantId: tenant, records: chainRecords(tenant, 3, { seq: 1, hash: first[0]!.hash }) }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      stores.audit.append({ tenantId: tenant, records: chainRecords(tenant, 1, { seq: 2, hash: "forged" }) }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      stores.audit.append({ tenantId: tenant, records: chainRecords(tenant, 1, { seq: 5, hash: first[1]!.hash }) }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await stores.audit.range({ tenantId: tenant, fromSeq: 1 })).toHaveLength(2);
  });

  it("bad input is a ValidationError naming the field", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    await expect(stores.audit.append({ tenantId: tenant, records: [] })).rejects.toBeInstanceOf(ValidationError);
    const other = chainRecords(randomTenant(), 1);
    await expect(stores.audit.append({ tenantId: tenant, records: other })).rejects.toThrow(/records\[0\]\.tenantId/);
    const gap = chainRecords(tenant, 3);
    await expect(stores.audit.append({ tenantId: tenant, records: [gap[0]!, gap[2]!] })).rejects.toThrow(/records\[1\]\.seq/);
    expect(await stores.audit.head({ tenantId: tenant })).toBeNull();
  });

  it("exactly one of 10 concurrent appenders of the same position wins", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    const { fulfilled, rejected } = await concurrently(10, () =>
      stores.audit.append({ tenantId: tenant, records: chainRecords(tenant, 5) }),
    );
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(9);
    for (const e of rejected) expect(e).toBeInstanceOf(ConflictError);
    expect(await stores.audit.range({ tenantId: tenant, fromSeq: 1 })).toHaveLength(5);
  });

  it("appends above 1,000 records are chunked in one transaction: all or nothing", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    const big = chainRecords(tenant, 2500);
    await stores.audit.append({ tenantId: tenant, records: big });
    expect((await stores.audit.head({ tenantId: tenant }))!.seq).toBe(2500);
    // A batch whose third chunk collides (a duplicate id) must leave nothing behind.
    const next = chainRecords(tenant, 2500, { seq: 2500, hash: big[2499]!.hash });
    next[2200] = { ...next[2200]!, id: big[0]!.id };
    await expect(stores.audit.append({ tenantId: tenant, records: next })).rejects.toBeInstanceOf(ConflictError);
    expect((await stores.audit.head({ tenantId: tenant }))!.seq).toBe(2500);
    const page = await stores.audit.range({ tenantId: tenant, fromSeq: 1, limit: 10_000 });
    expect(page.map((r: AuditRecord) => r.seq)).toEqual(big.map((r) => r.seq));
  });

  it("query filters and pages by seq in both orders, completely and without duplicates", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    const recs = chainRecords(tenant, 30, null, (i) => ({
      action: i % 2 ? "DATA_EXPORT" : "DATA_ACCESS",
      correlationId: i % 5 === 0 ? "c5" : null,
      target: i % 9 === 0 ? { id: "t3" } : null,
    }));
    await stores.audit.append({ tenantId: tenant, records: recs });
    for (const order of ["asc", "desc"] as const) {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: AuditRecord[]; nextCursor: string | null } = await stores.audit.query({
          tenantId: tenant,
          actions: ["DATA_EXPORT"],
          limit: 4,
          cursor,
          order,
        });
        seen.push(...page.items.map((r) => r.seq));
        cursor = page.nextCursor;
      } while (cursor);
      const expected = recs.filter((r) => r.action === "DATA_EXPORT").map((r) => r.seq);
      expect(seen).toEqual(order === "asc" ? expected : expected.reverse());
    }
    expect((await stores.audit.query({ tenantId: tenant, correlationId: "c5" })).items.map((r) => r.seq)).toEqual([1, 6, 11, 16, 21, 26]);
    expect((await stores.audit.query({ tenantId: tenant, targetId: "t3", actorId: "user-0" })).items.map((r) => r.seq)).toEqual([
      1, 10, 19, 28,
    ]);
    const from = recs[10]!.ts;
    const to = recs[12]!.ts;
    expect((await stores.audit.query({ tenantId: tenant, from, to })).items.map((r) => r.seq)).toEqual([11, 12]);
    expect((await stores.audit.query({ tenantId: tenant, actions: [] })).items).toEqual([]);
    expect((await stores.audit.query({ tenantId: randomTenant() })).items).toEqual([]);
    await expect(stores.audit.query({ tenantId: tenant, cursor: "forged" })).rejects.toBeInstanceOf(ValidationError);
  });

  it("chains pages with the global chain first, then tenant ids in binary order", async () => {
    const { stores } = await harness();
    const prefix = randomTenant("chains");
    const ids = [`${prefix}-b`, `${prefix}-B`, `${prefix}-a`];
    for (const id of ids) await stores.audit.append({ tenantId: id, records: chainRecords(id, 1) });
    const all: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: (string | null)[]; nextCursor: string | null } = await stores.audit.chains({ limit: 2, cursor });
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(all).size).toBe(all.length);
    const mine = all.filter((t) => t !== null && t.startsWith(prefix));
    expect(mine).toEqual([...ids].sort());
    expect(all.indexOf(null)).toBeLessThanOrEqual(0);
  });

  it("the table is append-only: UPDATE, DELETE and TRUNCATE are refused by the database", async () => {
    const h = await harness();
    const tenant = randomTenant();
    await h.stores.audit.append({ tenantId: tenant, records: chainRecords(tenant, 1) });
    const table = sql.raw(h.schema ? `"${h.schema}"."ops_audit_entries"` : `"ops_audit_entries"`);
    for (const statement of [
      sql`UPDATE ${table} SET "hash" = 'x' WHERE "tenant_id" = ${tenant}`,
      sql`DELETE FROM ${table} WHERE "tenant_id" = ${tenant}`,
      sql`TRUNCATE ${table}`,
    ]) {
      const err = await h.db.execute(statement).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `${driver}: ${statement.queryChunks.length}`).not.toBeNull();
      const mapped = mapDbError(err, "audit tamper");
      expect(mapped).toBeInstanceOf(TenantIsolationError);
      expect(String((mapped as Error).message)).not.toContain(tenant);
    }
    expect(await h.stores.audit.range({ tenantId: tenant, fromSeq: 1 })).toHaveLength(1);
  });
});
