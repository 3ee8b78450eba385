import {
  ConflictError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
  type JsonObject,
  type Page,
  type PageRequest,
  type SealedFields,
  type TenantKey,
} from "@ops/core";
import { sql, type Sql } from "../sql.js";
import { PgStoreBase } from "../base.js";
import type { Row } from "../executor.js";
import { isoOut, jsonOut, num, parseJson, str, tenantIs } from "../values.js";

const MAX_APPEND = 10_000;
const MAX_RANGE = 10_000;
/**
 * How many index entries each probe of a time-range query reads at most before `query` picks its
 * plan (sort the range's matches, or walk the seq index): see `sortTimeRange`.
 */
const TIME_RANGE_SORT = 5000;
/** Rows per INSERT statement (24 column arrays); bigger batches are chunked in one transaction. */
const CHUNK = 1000;

const INSERT_COLUMNS = sql.raw(
  `"id", "tenant_id", "seq", "prev_hash", "hash", "ts", "env", "action", "actor_id", "actor_type", "actor_ip", "actor_user_agent", "subject_id", "subject_type", "target_id", "target_type", "target_name", "outcome", "reason", "surface", "request_id", "correlation_id", "meta", "sealed"`,
);

const COLUMNS = sql.join(
  [
    sql.raw(
      `"id", "tenant_id", "seq", "prev_hash", "hash", "env", "action", "actor_id", "actor_type", "actor_ip", "actor_user_agent", "subject_id", "subject_type", "target_id", "target_type", "target_name", "outcome", "reason", "surface", "request_id", "correlation_id"`,
    ),
    isoOut("ts"),
    jsonOut("meta"),
    jsonOut("sealed"),
  ],
  sql`, `,
);

/** The array type of each INSERT_COLUMNS column, for `unnest`. */
const ARRAY_TYPES = [
  "text",
  "text",
  "bigint",
  "text",
  "text",
  "timestamptz",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "text",
  "jsonb",
  "jsonb",
];

const opt = (v: string | null | undefined): string | null => (v === undefined ? null : v);

/**
 * The batch as one array per column (24 bind parameters whatever the batch size): the server
 * parses 24 arrays instead of planning a VALUES list of 500 x 24 parameters, which is what makes
 * the store faster than a plain multi-row INSERT of the same rows.
 */
function toColumns(records: readonly AuditRecord[]): unknown[][] {
  const cols: unknown[][] = ARRAY_TYPES.map(() => new Array<unknown>(records.length));
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    cols[0]![i] = r.id;
    cols[1]![i] = r.tenantId;
    cols[2]![i] = r.seq;
    cols[3]![i] = r.prevHash;
    cols[4]![i] = r.hash;
    cols[5]![i] = r.ts;
    cols[6]![i] = r.env;
    cols[7]![i] = r.action;
    cols[8]![i] = r.actor.id;
    cols[9]![i] = r.actor.type;
    cols[10]![i] = opt(r.actor.ip);
    cols[11]![i] = opt(r.actor.userAgent);
    cols[12]![i] = r.subject?.id ?? null;
    cols[13]![i] = r.subject ? opt(r.subject.type) : null;
    cols[14]![i] = r.target?.id ?? null;
    cols[15]![i] = r.target ? opt(r.target.type) : null;
    cols[16]![i] = r.target ? opt(r.target.name) : null;
    cols[17]![i] = r.outcome;
    cols[18]![i] = opt(r.reason);
    cols[19]![i] = opt(r.surface);
    cols[20]![i] = opt(r.requestId);
    cols[21]![i] = opt(r.correlationId);
    cols[22]![i] = JSON.stringify(r.meta ?? {});
    cols[23]![i] = r.sealed == null ? null : JSON.stringify(r.sealed);
  }
  return cols;
}

function toRecord(r: Row): AuditRecord {
  const rec: AuditRecord = {
    id: str(r.id),
    tenantId: r.tenant_id === null ? null : str(r.tenant_id),
    seq: num(r.seq),
    prevHash: str(r.prev_hash),
    hash: str(r.hash),
    ts: str(r.ts),
    env: str(r.env),
    action: str(r.action),
    actor: { id: str(r.actor_id), type: str(r.actor_type) as AuditRecord["actor"]["type"] },
    outcome: str(r.outcome) as AuditRecord["outcome"],
    meta: parseJson<JsonObject>(r.meta),
  };
  // NULL columns read back as absent keys: the hash treats absent and null alike.
  if (r.actor_ip !== null) rec.actor.ip = str(r.actor_ip);
  if (r.actor_user_agent !== null) rec.actor.userAgent = str(r.actor_user_agent);
  if (r.subject_id !== null)
    rec.subject = r.subject_type === null ? { id: str(r.subject_id) } : { id: str(r.subject_id), type: str(r.subject_type) };
  if (r.target_id !== null) {
    const target: NonNullable<AuditRecord["target"]> = { id: str(r.target_id) };
    if (r.target_type !== null) target.type = str(r.target_type);
    if (r.target_name !== null) target.name = str(r.target_name);
    rec.target = target;
  }
  if (r.reason !== null) rec.reason = str(r.reason);
  if (r.surface !== null) rec.surface = str(r.surface);
  if (r.request_id !== null) rec.requestId = str(r.request_id);
  if (r.correlation_id !== null) rec.correlationId = str(r.correlation_id);
  if (r.sealed !== null) rec.sealed = parseJson<SealedFields>(r.sealed);
  return rec;
}

/**
 * `AuditStore` on PostgreSQL. `append` is one multi-row INSERT (chunks of 1,000 in one
 * transaction above that) guarded by the unique `(tenant_id, seq)` and by a check that the first
 * record continues the stored head, so concurrent appenders never fork or gap the chain: the
 * loser gets `ConflictError` and re-chains. Rows come back exactly as stored, tampered or not.
 */
export class PgAuditStore extends PgStoreBase implements AuditStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "audit" as const;
  async append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void> {
    const { tenantId, records } = input;
    if (!Array.isArray(records) || records.length === 0 || records.length > MAX_APPEND)
      throw this.invalid("records", `expected 1..${MAX_APPEND} records`);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (r.tenantId !== tenantId) throw this.invalid(`records[${i}].tenantId`, "expected the input's tenantId");
      if (!Number.isSafeInteger(r.seq) || r.seq < 1) throw this.invalid(`records[${i}].seq`, "expected a positive integer");
      if (i > 0 && r.seq !== records[i - 1]!.seq + 1) throw this.invalid(`records[${i}].seq`, "expected consecutive seqs");
    }
    const what = `audit.append ${tenantId ?? "(global)"} seq ${records[0]!.seq}..${records[records.length - 1]!.seq}`;
    if (records.length <= CHUNK) {
      const inserted = num((await this.q(what, this.insertStatement(tenantId, records, true)))[0]?.n);
      if (inserted !== records.length) throw this.notContinuing(tenantId, records[0]!);
      return;
    }
    await this.tx(what, async (tx) => {
      for (let i = 0; i < records.length; i += CHUNK) {
        const chunk = records.slice(i, i + CHUNK);
        const inserted = num((await this.q(what, this.insertStatement(tenantId, chunk, i === 0), tx))[0]?.n);
        if (inserted !== chunk.length) throw this.notContinuing(tenantId, records[0]!);
      }
    });
  }

  /**
   * Cross-chain group commit: the batches of many chains in ONE INSERT (column arrays and a chain
   * number per row). Each chain's first record is checked against that chain's stored head in the
   * same statement; rows of chains that do not continue their head are left out (ConflictError for
   * that batch), the rest are written. A seq taken by a concurrent writer fails the statement
   * (unique index: nothing written), and the caller appends chain by chain.
   */
  async appendMany(input: {
    batches: ReadonlyArray<{ tenantId: TenantKey; records: readonly AuditRecord[] }>;
  }): Promise<Array<ConflictError | null>> {
    const batches = input?.batches;
    if (!Array.isArray(batches)) throw this.invalid("batches", "expected an array");
    let total = 0;
    const seen = new Set<string>();
    batches.forEach((b, j) => {
      const { tenantId, records } = b;
      if (!Array.isArray(records) || records.length === 0) throw this.invalid(`batches[${j}].records`, "expected at least 1 record");
      const k = tenantId === null ? "\u0000" : `t${tenantId}`;
      if (seen.has(k)) throw this.invalid(`batches[${j}].tenantId`, "expected one batch per chain");
      seen.add(k);
      total += records.length;
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (r.tenantId !== tenantId) throw this.invalid(`batches[${j}].records[${i}].tenantId`, "expected the batch's tenantId");
        if (!Number.isSafeInteger(r.seq) || r.seq < 1) throw this.invalid(`batches[${j}].records[${i}].seq`, "expected a positive integer");
        if (i > 0 && r.seq !== records[i - 1]!.seq + 1) throw this.invalid(`batches[${j}].records[${i}].seq`, "expected consecutive seqs");
      }
    });
    if (total > MAX_APPEND) throw this.invalid("batches", `expected at most ${MAX_APPEND} records in all`);
    if (batches.length === 0) return [];
    const rows: AuditRecord[] = [];
    const chainOf: number[] = [];
    batches.forEach((b, j) => {
      for (const r of b.records) {
        rows.push(r);
        chainOf.push(j);
      }
    });
    const t = this.t.auditEntries;
    const cols = toColumns(rows);
    const arrays = sql.join([...cols.map((values, i) => sql`${values}::${sql.raw(ARRAY_TYPES[i]!)}[]`), sql`${chainOf}::int[]`]);
    const firsts = batches.map((b) => b.records[0]!);
    const ok = await this.q(
      `audit.appendMany ${batches.length} chains, ${total} records`,
      sql`WITH g AS (
            SELECT * FROM unnest(${firsts.map((r) => r.tenantId)}::text[], ${firsts.map((r) => r.seq)}::bigint[],
              ${firsts.map((r) => r.prevHash)}::text[]) WITH ORDINALITY AS g("tenant_id", "seq", "prev_hash", "n")
          ), ok AS (
            SELECT g."n" - 1 AS "c" FROM g
            WHERE (g."seq" = 1 AND g."prev_hash" = '')
               OR EXISTS (SELECT 1 FROM ${t} e WHERE (e."tenant_id" = g."tenant_id" OR (e."tenant_id" IS NULL AND g."tenant_id" IS NULL))
                            AND e."seq" = g."seq" - 1 AND e."hash" = g."prev_hash")
          ), v AS (
            SELECT * FROM unnest(${arrays}) AS v(${INSERT_COLUMNS}, "c")
          ), ins AS (
            INSERT INTO ${t} (${INSERT_COLUMNS}) SELECT ${INSERT_COLUMNS} FROM v WHERE v."c" IN (SELECT "c" FROM ok) RETURNING 1
          )
          SELECT "c", (SELECT count(*) FROM ins) AS "n" FROM ok`,
    );
    const written = new Set(ok.map((r) => num(r.c)));
    return batches.map((b, j) => (written.has(j) ? null : this.notContinuing(b.tenantId, b.records[0]!)));
  }

  async head(input: { tenantId: TenantKey }): Promise<{ seq: number; hash: string } | null> {
    const rows = await this.q(
      `audit.head ${input.tenantId ?? "(global)"}`,
      sql`SELECT "seq", "hash" FROM ${this.t.auditEntries} WHERE ${tenantIs(input.tenantId)} ORDER BY "seq" DESC LIMIT 1`,
    );
    const r = rows[0];
    return r ? { seq: num(r.seq), hash: str(r.hash) } : null;
  }

  /**
   * One page as plain rows of text columns (`ts` formatted by the server, `meta`/`sealed` as JSON
   * text parsed here): every driver (node-postgres, postgres.js, PGlite, Prisma) reads text
   * columns cheaply, and the server only runs each column's output function. Building the page as
   * one JSON value on the server (`json_agg(json_build_array(...))`) cost the server ~4x more per
   * row than the rows themselves and capped `verify` near 40 k entries/s at 1M entries.
   */
  async range(input: { tenantId: TenantKey; fromSeq: number; toSeq?: number; limit?: number }): Promise<AuditRecord[]> {
    const limit = Math.max(1, Math.min(input.limit ?? 1000, MAX_RANGE));
    const t = this.t.auditEntries;
    const rows = await this.q(
      `audit.range ${input.tenantId ?? "(global)"} from ${input.fromSeq}`,
      sql`SELECT ${COLUMNS} FROM ${t} WHERE ${tenantIs(input.tenantId)} AND ${t}."seq" >= ${input.fromSeq}
            ${input.toSeq === undefined ? sql`` : sql`AND ${t}."seq" <= ${input.toSeq}`}
            ORDER BY ${t}."seq" LIMIT ${limit}`,
    );
    const out = new Array<AuditRecord>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = toRecord(rows[i]!);
    return out;
  }

  async query(input: AuditQuery): Promise<Page<AuditRecord>> {
    const limit = pageLimit(input.limit, this.pkg);
    const desc = input.order === "desc";
    const after = input.cursor ? decodeCursor(input.cursor, 1, this.pkg)[0] : null;
    if (after !== null && typeof after !== "number") throw this.invalid("cursor", "expected a cursor returned by a previous page");
    if (input.actions && input.actions.length === 0) return { items: [], nextCursor: null };
    const filters: Sql[] = [tenantIs(input.tenantId)];
    if (after !== null) filters.push(desc ? sql`"seq" < ${after}` : sql`"seq" > ${after}`);
    if (input.actorId !== undefined) filters.push(sql`"actor_id" = ${input.actorId}`);
    if (input.subjectId !== undefined) filters.push(sql`"subject_id" = ${input.subjectId}`);
    if (input.targetId !== undefined) filters.push(sql`"target_id" = ${input.targetId}`);
    if (input.actions)
      filters.push(
        sql`"action" IN (${sql.join(
          input.actions.map((a) => sql`${a}`),
          sql`, `,
        )})`,
      );
    if (input.outcome !== undefined) filters.push(sql`"outcome" = ${input.outcome}`);
    if (input.correlationId !== undefined) filters.push(sql`"correlation_id" = ${input.correlationId}`);
    if (input.from !== undefined) filters.push(sql`"ts" >= ${input.from}::timestamptz`);
    if (input.to !== undefined) filters.push(sql`"ts" < ${input.to}::timestamptz`);
    const what = `audit.query ${input.tenantId ?? "(global)"}`;
    const t = this.t.auditEntries;
    const where = sql.join(filters, sql` AND `);
    const order = sql.raw(desc ? "DESC" : "ASC");
    let rows: Row[];
    if ((input.from !== undefined || input.to !== undefined) && (await this.sortTimeRange(where, filters, input, desc))) {
      // Read the matching seqs through a (tenant_id[, action | actor_id], ts, seq) index (an
      // index-only scan of the range) and sort them. Left to itself the planner walks the seq
      // index and filters on ts, assuming matches are spread evenly; in a chain they sit together
      // (ts grows with seq), so that walk reads every row before the range: hundreds of ms at a
      // million entries. MATERIALIZED keeps the ORDER BY/LIMIT from steering the inner plan back
      // to the seq index. Only the page's rows are then read in full.
      rows = await this.q(
        what,
        sql`WITH "r" AS MATERIALIZED (SELECT ${t}."seq" AS "k" FROM ${t} WHERE ${where}),
            "p" AS (SELECT "k" FROM "r" ORDER BY "k" ${order} LIMIT ${limit + 1})
            SELECT ${COLUMNS} FROM ${t} WHERE ${tenantIs(input.tenantId)} AND ${t}."seq" IN (SELECT "k" FROM "p")
            ORDER BY ${t}."seq" ${order}`,
      );
    } else rows = await this.q(what, sql`SELECT ${COLUMNS} FROM ${t} WHERE ${where} ORDER BY ${t}."seq" ${order} LIMIT ${limit + 1}`);
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.seq]) : null };
  }

  /**
   * Which plan answers a time-range query for less: sorting the matching rows of the range, or
   * walking the seq index (in the requested order) until a page of matches is found. Two probes,
   * each stopping after `TIME_RANGE_SORT` index entries: sort when the range holds at most that
   * many matches; else walk when at most that many matching rows lie on the walk's way to the
   * range (before `from` oldest first, at or after `to` newest first; none without that bound);
   * else sort (a dense range deep in a long chain). Both plans return the same rows.
   */
  private async sortTimeRange(where: Sql, filters: readonly Sql[], input: AuditQuery, desc: boolean): Promise<boolean> {
    const t = this.t.auditEntries;
    const what = `audit.query ${input.tenantId ?? "(global)"} (time range size)`;
    const count = async (w: Sql) =>
      num((await this.q(what, sql`SELECT count(*) AS "n" FROM (SELECT 1 FROM ${t} WHERE ${w} LIMIT ${TIME_RANGE_SORT + 1}) AS "p"`))[0]?.n);
    if ((await count(where)) <= TIME_RANGE_SORT) return true;
    const bound = desc ? input.to : input.from;
    if (bound === undefined) return false;
    // The same filters without the time range, and the rows the walk passes on its way to it.
    const rest = filters.slice(0, filters.length - (input.from !== undefined ? 1 : 0) - (input.to !== undefined ? 1 : 0));
    const before = desc ? sql`"ts" >= ${bound}::timestamptz` : sql`"ts" < ${bound}::timestamptz`;
    return (await count(sql.join([...rest, before], sql` AND `))) > TIME_RANGE_SORT;
  }

  async chains(input: PageRequest = {}): Promise<Page<TenantKey>> {
    const limit = pageLimit(input.limit, this.pkg);
    const cursor = input.cursor ? decodeCursor(input.cursor, 2, this.pkg) : null;
    // The global chain (NULL) sorts first; then tenant ids in binary order.
    const afterTenant = cursor ? (cursor[0] === "t" ? String(cursor[1]) : null) : undefined;
    if (cursor && cursor[0] !== "t" && cursor[0] !== "g") throw this.invalid("cursor", "expected a cursor returned by a previous page");
    const items: TenantKey[] = [];
    if (afterTenant === undefined) {
      const g = await this.q(
        "audit.chains",
        sql`SELECT EXISTS (SELECT 1 FROM ${this.t.auditEntries} WHERE "tenant_id" IS NULL) AS "global"`,
      );
      if (g[0]?.global === true || g[0]?.global === "t") items.push(null);
    }
    // A loose index scan over (tenant_id, seq): one index probe per chain, not a scan of every row.
    const t = this.t.auditEntries;
    const rows = await this.q(
      "audit.chains",
      sql`WITH RECURSIVE c AS (
            (SELECT "tenant_id" FROM ${t} WHERE "tenant_id" IS NOT NULL ${afterTenant ? sql`AND "tenant_id" > ${afterTenant}` : sql``}
             ORDER BY "tenant_id" LIMIT 1)
            UNION ALL
            SELECT (SELECT "tenant_id" FROM ${t} WHERE "tenant_id" > c."tenant_id" ORDER BY "tenant_id" LIMIT 1)
            FROM c WHERE c."tenant_id" IS NOT NULL
          )
          SELECT "tenant_id" FROM c WHERE "tenant_id" IS NOT NULL LIMIT ${limit + 1 - items.length}`,
    );
    for (const r of rows) items.push(str(r.tenant_id));
    const page = items.slice(0, limit);
    const last = page[page.length - 1];
    const more = items.length > limit;
    return { items: page, nextCursor: more ? encodeCursor(last === null || last === undefined ? ["g", null] : ["t", last]) : null };
  }

  /**
   * One multi-row INSERT whose rows travel as 24 column arrays expanded by `unnest`: binding 24
   * parameters per row costs more (in the client and in the server) than the insert itself. It inserts nothing unless the first record continues the stored head (seq 1
   * with prevHash "" on an empty chain, else the row at seq - 1 has hash prevHash).
   */
  private insertStatement(tenantId: TenantKey, records: readonly AuditRecord[], checkHead: boolean): Sql {
    const t = this.t.auditEntries;
    const first = records[0]!;
    const guard = !checkHead
      ? sql``
      : first.seq === 1
        ? sql`WHERE ${first.prevHash} = ''`
        : sql`WHERE EXISTS (SELECT 1 FROM ${t} WHERE ${tenantIs(tenantId)} AND "seq" = ${first.seq - 1} AND "hash" = ${first.prevHash})`;
    const arrays = sql.join(toColumns(records).map((values, i) => sql`${values}::${sql.raw(ARRAY_TYPES[i]!)}[]`));
    return sql`WITH ins AS (INSERT INTO ${t} (${INSERT_COLUMNS})
      SELECT * FROM unnest(${arrays}) ${guard}
      RETURNING 1) SELECT count(*) AS "n" FROM ins`;
  }

  private notContinuing(tenantId: TenantKey, first: AuditRecord): ConflictError {
    return new ConflictError(
      `[ops/${this.pkg}] audit records of chain ${tenantId ?? "(global)"} do not continue its head (seq ${first.seq}, prevHash mismatch or missing predecessor)`,
    );
  }
}
