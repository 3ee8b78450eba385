import type { AuditQuery, AuditRecord } from "@ops/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgAuditStore, nodePgExecutor, type PgExecutor } from "../src/index.js";
import { createSchema, pgUp } from "./support/db.js";

const up = await pgUp();

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const N = 40_000;
const ACTIONS = ["DATA_ACCESS", "LOGIN", "EXPORT", "SETTINGS_CHANGED"];

/** Chained rows (the store checks links, not hashes), one per second, with a late out-of-order one. */
function rows(tenantId: string, from: number, count: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let seq = from; seq < from + count; seq++)
    out.push({
      id: `ae_${tenantId}_${seq}`,
      tenantId,
      seq,
      prevHash: seq === 1 ? "" : `h${seq - 1}`,
      hash: `h${seq}`,
      // seq 39,000 carries an old time (a backfilled entry): it belongs to the mid-chain hour.
      ts: new Date(seq === 39_000 ? T0 + 20_500_000 : T0 + seq * 1000).toISOString(),
      env: "prod",
      action: ACTIONS[seq % ACTIONS.length]!,
      actor: { id: `user_${seq % 100}`, type: "user" },
      outcome: "success",
      meta: { n: seq },
    });
  return out;
}

/** An executor that records every statement it runs. */
function recording(exec: PgExecutor, into: Array<{ text: string; params: readonly unknown[] }>): PgExecutor {
  return {
    query: (text, params) => (into.push({ text, params }), exec.query(text, params)),
    transaction: (fn) => exec.transaction((tx) => fn(recording(tx, into))),
  };
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

/**
 * Time-range queries of the audit log are answered from an index at a size where the planner has
 * a real choice (40,000 rows of one tenant plus another tenant's, analyzed): EXPLAIN shows no
 * sequential scan of the audit table, and the mid-chain ranges read the (tenant_id, ts) index
 * rather than walking the chain's seq index from its start.
 */
describe.skipIf(!up)("audit time-range queries use an index (EXPLAIN FORMAT JSON)", () => {
  let db: Awaited<ReturnType<typeof createSchema>>;
  let store: PgAuditStore;
  const statements: Array<{ text: string; params: readonly unknown[] }> = [];
  beforeAll(async () => {
    db = await createSchema("aqplans");
    const seed = new PgAuditStore({ exec: nodePgExecutor(db.pool), schema: db.schema, pkg: "adapter-postgres" });
    for (let from = 1; from <= N; from += 10_000) await seed.append({ tenantId: "big", records: rows("big", from, 10_000) });
    await seed.append({ tenantId: "other", records: rows("other", 1, 5000) });
    // As autovacuum leaves an insert-only table: visibility map set, so index-only scans are costed as such.
    await db.pool.query(`VACUUM ANALYZE "${db.schema}"."ops_audit_entries"`);
    store = new PgAuditStore({ exec: recording(nodePgExecutor(db.pool), statements), schema: db.schema, pkg: "adapter-postgres" });
  }, 300_000);
  afterAll(async () => db?.drop());

  const at = (s: number) => new Date(T0 + s * 1000).toISOString();
  const shapes: Array<[string, AuditQuery, (r: AuditRecord) => boolean]> = [
    ["one hour mid-chain, oldest first", { tenantId: "big", from: at(20_000), to: at(23_600), limit: 100 }, () => true],
    ["one hour mid-chain, newest first", { tenantId: "big", from: at(20_000), to: at(23_600), limit: 100, order: "desc" }, () => true],
    [
      "one hour + action",
      { tenantId: "big", from: at(20_000), to: at(23_600), actions: ["DATA_ACCESS"], limit: 100 },
      (r) => r.action === "DATA_ACCESS",
    ],
    [
      "one hour + actor",
      { tenantId: "big", from: at(20_000), to: at(23_600), actorId: "user_0", limit: 100 },
      (r) => r.actor.id === "user_0",
    ],
    // Dense ranges (more matches than a probe reads, more before them than a probe reads) in the
    // middle of the chain, where a walk of the seq index would pass every row before them.
    [
      "dense range (5 h) + two actions",
      { tenantId: "big", from: at(21_000), to: at(40_001), actions: ["EXPORT", "LOGIN"], limit: 100 },
      (r) => r.action === "EXPORT" || r.action === "LOGIN",
    ],
    [
      "wide range (5 h) + actor",
      { tenantId: "big", from: at(21_000), to: at(40_001), actorId: "user_3", limit: 100 },
      (r) => r.actor.id === "user_3",
    ],
    ["from alone (last 6,000 s), oldest first", { tenantId: "big", from: at(34_000), limit: 100 }, () => true],
  ];

  for (const [name, q, match] of shapes)
    it(`${name}: the right rows, from an index, no Seq Scan on ops_audit_entries`, async () => {
      statements.length = 0;
      const items: AuditRecord[] = [];
      let cursor: string | null = null;
      let firstPage = 0;
      do {
        const page = await store.query({ ...q, cursor });
        items.push(...page.items);
        cursor = page.nextCursor;
        // The plans checked are the first page's: a later page may walk the seq index from its
        // cursor, which already sits inside the range.
        if (firstPage === 0) firstPage = statements.length;
      } while (cursor);
      // Every row of the range (the backfilled seq 39,000 included), in seq order, no other tenant's.
      const from = Date.parse(q.from!);
      const to = q.to === undefined ? Number.POSITIVE_INFINITY : Date.parse(q.to);
      const want = rows("big", 1, N)
        .filter((r) => Date.parse(r.ts) >= from && Date.parse(r.ts) < to && match(r))
        .map((r) => r.seq);
      if (q.order === "desc") want.reverse();
      expect(items.map((r) => r.seq)).toEqual(want);
      if (Date.parse(rows("big", 39_000, 1)[0]!.ts) >= from && match(rows("big", 39_000, 1)[0]!)) expect(want).toContain(39_000);

      const main = statements.slice(0, firstPage).filter((s) => /FROM .*ops_audit_entries/.test(s.text) && !/count\(\*\)/.test(s.text));
      expect(main.length).toBeGreaterThan(0);
      for (const s of main) {
        const [{ "QUERY PLAN": plan }] = (await db.pool.query(`EXPLAIN (FORMAT JSON) ${s.text}`, s.params as unknown[])).rows as [
          { "QUERY PLAN": [{ Plan: PlanNode }] },
        ];
        const all = nodes(plan[0].Plan);
        const onAudit = all.filter((n) => n["Relation Name"] === "ops_audit_entries");
        expect(onAudit.map((n) => n["Node Type"])).not.toContain("Seq Scan");
        expect(onAudit.length).toBeGreaterThan(0);
        expect(all.some((n) => /Index/.test(n["Node Type"]))).toBe(true);
        // Not a walk of the seq index from the chain's start, filtering on ts.
        expect(all.filter((n) => n["Index Name"] !== undefined).map((n) => n["Index Name"])).not.toEqual([
          "ops_audit_entries_chain_seq_key",
        ]);
      }
    });
});
