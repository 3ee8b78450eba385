import {
  ConflictError,
  NotFoundError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  type IncidentListQuery,
  type IncidentModelRecord,
  type IncidentRecord,
  type IncidentScanQuery,
  type IncidentStore,
  type JsonObject,
  type Page,
  type PendingEffect,
  type TenantKey,
  forgetReplacements,
  scrubJson,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
} from "@ops/core";
import { sql, type Sql } from "../sql.js";
import { PgStoreBase } from "../base.js";
import { effectInserts } from "./effect-store.js";
import { isoOut, jsonIn, jsonOut, num, parseJson, str, tenantIs, tsIn } from "../values.js";
import type { Row } from "../executor.js";

const COLUMNS = sql.join(
  [
    sql.raw(`"id", "tenant_id", "fingerprint", "type", "severity", "state", "title", "version"`),
    isoOut("opened_at"),
    isoOut("updated_at"),
    isoOut("resolved_at"),
    jsonOut("data"),
  ],
  sql`, `,
);

const MODEL_COLUMNS = sql.join([sql.raw(`"tenant_id", "name", "version"`), jsonOut("model"), isoOut("updated_at")], sql`, `);

function toIncident(r: Row): IncidentRecord {
  const rec: IncidentRecord = {
    id: str(r.id),
    tenantId: r.tenant_id === null ? null : str(r.tenant_id),
    fingerprint: str(r.fingerprint),
    type: str(r.type),
    severity: str(r.severity) as IncidentRecord["severity"],
    state: str(r.state) as IncidentRecord["state"],
    title: str(r.title),
    openedAt: str(r.opened_at),
    updatedAt: str(r.updated_at),
    data: parseJson<JsonObject>(r.data),
    version: num(r.version),
  };
  if (r.resolved_at !== null) rec.resolvedAt = str(r.resolved_at);
  return rec;
}

function toModel(r: Row): IncidentModelRecord {
  return {
    tenantId: r.tenant_id === null ? null : str(r.tenant_id),
    name: str(r.name),
    model: parseJson<JsonObject>(r.model),
    version: num(r.version),
    updatedAt: str(r.updated_at),
  };
}

const inList = (values: readonly string[]): Sql =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );

/**
 * `IncidentStore` on PostgreSQL (`ops_incidents`, `ops_incident_models`). Creation is guarded by
 * the primary key and by a partial unique index on active fingerprints, so of many instances
 * raising one incident exactly one succeeds; updates are compare-and-set on `version`.
 */
export class PgIncidentStore extends PgStoreBase implements IncidentStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "incidents" as const;
  /** See `IncidentStore.forgetSubject`: the tenant's incidents in id pages; each change is a compare-and-set on `version`. */
  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    const ids = forgetReplacements(input);
    const what = "incidents.forgetSubject";
    let records = 0;
    let after = "";
    for (;;) {
      const page = await this.q(
        what,
        sql`SELECT ${COLUMNS} FROM ${this.t.incidents} WHERE ${tenantIs(input.tenantId)} AND "id" > ${after} ORDER BY "id" LIMIT 500`,
      );
      for (const row of page) {
        const r = toIncident(row);
        const title = scrubJson(r.title, ids);
        const data = scrubJson(r.data, ids);
        if (title === r.title && data === r.data) continue;
        const done = await this.q(
          what,
          sql`UPDATE ${this.t.incidents} SET "title" = ${title}, "data" = ${JSON.stringify(data)}::jsonb, "version" = "version" + 1
              WHERE "id" = ${r.id} AND ${tenantIs(input.tenantId)} AND "version" = ${r.version} RETURNING 1 AS "n"`,
        );
        records += done.length;
      }
      if (page.length < 500) break;
      after = str(page[page.length - 1]!.id);
    }
    return { records };
  }

  async create(input: { record: Omit<IncidentRecord, "version">; effects?: readonly PendingEffect[] }): Promise<IncidentRecord> {
    const r = input.record;
    if (!r || typeof r.id !== "string" || r.id.length === 0) throw this.invalid("record.id", "expected a non-empty string");
    const effects = effectInserts(this.t, this.pkg, input.effects);
    const rows = await this.q(
      `incidents.create ${r.id}`,
      sql`WITH w AS (INSERT INTO ${this.t.incidents}
            ("id", "tenant_id", "fingerprint", "type", "severity", "state", "title", "opened_at", "updated_at", "resolved_at", "data", "version")
          VALUES (${r.id}, ${r.tenantId}, ${r.fingerprint}, ${r.type}, ${r.severity}, ${r.state}, ${r.title}, ${tsIn(r.openedAt)},
            ${tsIn(r.updatedAt)}, ${tsIn(r.resolvedAt)}, ${jsonIn(r.data ?? {})}, 1)
          RETURNING ${COLUMNS})${effects} SELECT * FROM w`,
    );
    return toIncident(rows[0]!);
  }

  async get(input: { tenantId: TenantKey; id: string }): Promise<IncidentRecord | null> {
    const rows = await this.q(
      `incidents.get ${input.id}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.incidents} WHERE "id" = ${input.id} AND ${tenantIs(input.tenantId)}`,
    );
    return rows[0] ? toIncident(rows[0]) : null;
  }

  async findActive(input: { tenantId: TenantKey; fingerprint: string }): Promise<IncidentRecord | null> {
    const rows = await this.q(
      `incidents.findActive ${input.fingerprint}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.incidents}
          WHERE ${tenantIs(input.tenantId)} AND "fingerprint" = ${input.fingerprint} AND "state" <> 'resolved'
          ORDER BY ${this.t.incidents}."opened_at" DESC LIMIT 1`,
    );
    return rows[0] ? toIncident(rows[0]) : null;
  }

  async update(input: {
    tenantId: TenantKey;
    id: string;
    expectedVersion: number;
    effects?: readonly PendingEffect[];
    patch: Partial<Pick<IncidentRecord, "state" | "severity" | "title" | "updatedAt" | "resolvedAt" | "data">>;
  }): Promise<IncidentRecord> {
    const p = input.patch ?? {};
    const effects = effectInserts(this.t, this.pkg, input.effects);
    const sets: Sql[] = [sql`"version" = "version" + 1`];
    if (p.state !== undefined) sets.push(sql`"state" = ${p.state}`);
    if (p.severity !== undefined) sets.push(sql`"severity" = ${p.severity}`);
    if (p.title !== undefined) sets.push(sql`"title" = ${p.title}`);
    if (p.updatedAt !== undefined) sets.push(sql`"updated_at" = ${tsIn(p.updatedAt)}`);
    if (p.resolvedAt !== undefined) sets.push(sql`"resolved_at" = ${tsIn(p.resolvedAt)}`);
    if (p.data !== undefined) sets.push(sql`"data" = ${jsonIn(p.data)}`);
    const rows = await this.q(
      `incidents.update ${input.id}`,
      sql`WITH w AS (UPDATE ${this.t.incidents} SET ${sql.join(sets, sql`, `)}
          WHERE "id" = ${input.id} AND ${tenantIs(input.tenantId)} AND "version" = ${input.expectedVersion}
          RETURNING ${COLUMNS})${effects} SELECT * FROM w`,
    );
    if (rows[0]) return toIncident(rows[0]);
    const current = await this.get(input);
    if (!current) throw new NotFoundError(`[ops/${this.pkg}] incident ${input.id} not found`);
    throw new ConflictError(
      `[ops/${this.pkg}] incident ${input.id}: expectedVersion ${input.expectedVersion} is stale (now ${current.version})`,
    );
  }

  async list(input: IncidentListQuery): Promise<Page<IncidentRecord>> {
    const limit = pageLimit(input.limit, this.pkg);
    const after = input.cursor ? decodeCursor(input.cursor, 2, this.pkg) : null;
    if (after && (typeof after[0] !== "string" || typeof after[1] !== "string"))
      throw this.invalid("cursor", "expected a cursor returned by a previous page");
    if ((input.states && input.states.length === 0) || (input.types && input.types.length === 0)) return { items: [], nextCursor: null };
    const filters: Sql[] = [tenantIs(input.tenantId)];
    if (input.states) filters.push(sql`"state" IN (${inList(input.states)})`);
    if (input.types) filters.push(sql`"type" IN (${inList(input.types)})`);
    if (after) filters.push(sql`("opened_at", "id") < (${after[0]}::timestamptz, ${after[1]})`);
    const rows = await this.q(
      `incidents.list ${input.tenantId ?? "(global)"}`,
      sql`SELECT ${COLUMNS} FROM ${this.t.incidents} WHERE ${sql.join(filters, sql` AND `)}
          ORDER BY ${this.t.incidents}."opened_at" DESC NULLS LAST, "id" DESC NULLS LAST LIMIT ${limit + 1}`,
    );
    const items = rows.slice(0, limit).map(toIncident);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.openedAt, last.id]) : null };
  }

  async scan(input: IncidentScanQuery): Promise<Page<IncidentRecord>> {
    const limit = pageLimit(input.limit, this.pkg);
    const after = input.cursor ? decodeCursor(input.cursor, 1, this.pkg)[0] : null;
    if (after !== null && typeof after !== "string") throw this.invalid("cursor", "expected a cursor returned by a previous page");
    if (input.states && input.states.length === 0) return { items: [], nextCursor: null };
    const filters: Sql[] = [sql`TRUE`];
    if (input.states) filters.push(sql`"state" IN (${inList(input.states)})`);
    if (after !== null) filters.push(sql`"id" > ${after}`);
    const rows = await this.q(
      "incidents.scan",
      sql`SELECT ${COLUMNS} FROM ${this.t.incidents} WHERE ${sql.join(filters, sql` AND `)} ORDER BY "id" LIMIT ${limit + 1}`,
    );
    const items = rows.slice(0, limit).map(toIncident);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null };
  }

  async getModel(input: { tenantId: TenantKey; name: string }): Promise<IncidentModelRecord | null> {
    const rows = await this.q(
      `incidents.getModel ${input.name}`,
      sql`SELECT ${MODEL_COLUMNS} FROM ${this.t.incidentModels} WHERE ${tenantIs(input.tenantId)} AND "name" = ${input.name}`,
    );
    return rows[0] ? toModel(rows[0]) : null;
  }

  async putModel(input: {
    tenantId: TenantKey;
    name: string;
    model: JsonObject;
    expectedVersion: number | null;
    updatedAt: string;
  }): Promise<IncidentModelRecord> {
    const what = `incidents.putModel ${input.name}`;
    const t = this.t.incidentModels;
    const rows =
      input.expectedVersion === null
        ? await this.q(
            what,
            sql`INSERT INTO ${t} ("tenant_id", "name", "model", "version", "updated_at")
                VALUES (${input.tenantId}, ${input.name}, ${jsonIn(input.model)}, 1, ${tsIn(input.updatedAt)})
                ON CONFLICT ON CONSTRAINT ops_incident_models_tenant_name_key DO NOTHING
                RETURNING ${MODEL_COLUMNS}`,
          )
        : await this.q(
            what,
            sql`UPDATE ${t} SET "model" = ${jsonIn(input.model)}, "version" = "version" + 1, "updated_at" = ${tsIn(input.updatedAt)}
                WHERE ${tenantIs(input.tenantId)} AND "name" = ${input.name} AND "version" = ${input.expectedVersion}
                RETURNING ${MODEL_COLUMNS}`,
          );
    if (rows[0]) return toModel(rows[0]);
    const current = await this.getModel(input);
    throw new ConflictError(
      `[ops/${this.pkg}] model ${input.name}: expectedVersion ${input.expectedVersion} does not match ${current?.version ?? "absent"}`,
    );
  }
}
