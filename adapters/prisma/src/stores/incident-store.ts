import {
  ConflictError,
  NotFoundError,
  ValidationError,
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
  type TenantKey,
} from "@ops/core";
import { PKG, PrismaStoreBase } from "../base.js";
import { iso, json, tenantIs } from "../values.js";

export interface IncidentRow {
  id: string;
  tenant_id: string | null;
  fingerprint: string;
  type: string;
  severity: string;
  state: string;
  title: string;
  opened_at: Date;
  updated_at: Date;
  resolved_at: Date | null;
  data: string;
  version: number;
}

interface ModelRow {
  tenant_id: string | null;
  name: string;
  model: string;
  version: number;
  updated_at: Date;
}

export const INCIDENT_COLUMNS = `id, tenant_id, fingerprint, type, severity, state, title, opened_at, updated_at, resolved_at, data::text AS data, version`;
const MODEL_COLUMNS = `tenant_id, name, model::text AS model, version, updated_at`;

export function toRecord(row: IncidentRow): IncidentRecord {
  const rec: IncidentRecord = {
    id: row.id,
    tenantId: row.tenant_id,
    fingerprint: row.fingerprint,
    type: row.type,
    severity: row.severity as IncidentRecord["severity"],
    state: row.state as IncidentRecord["state"],
    title: row.title,
    openedAt: iso(row.opened_at),
    updatedAt: iso(row.updated_at),
    data: json<JsonObject>(row.data),
    version: Number(row.version),
  };
  if (row.resolved_at !== null) rec.resolvedAt = iso(row.resolved_at);
  return rec;
}

function toModel(row: ModelRow): IncidentModelRecord {
  return {
    tenantId: row.tenant_id,
    name: row.name,
    model: json<JsonObject>(row.model),
    version: Number(row.version),
    updatedAt: iso(row.updated_at),
  };
}

/**
 * `IncidentStore` on `ops_incidents` and `ops_incident_models`. Create relies on the primary key
 * (id, unique across tenants) and the partial unique index on active fingerprints: racing creators' INSERTs are
 * decided by PostgreSQL, the losers get ConflictError. Updates are one guarded UPDATE.
 */
export class PrismaIncidentStore extends PrismaStoreBase implements IncidentStore {
  /** @throws ConflictError when the id or an active incident with the fingerprint exists. */
  async create(input: { record: Omit<IncidentRecord, "version"> }): Promise<IncidentRecord> {
    const r = input?.record;
    if (!r || typeof r.id !== "string" || r.id.length === 0)
      throw new ValidationError(`[ops/${PKG}] invalid incident: record.id must be a non-empty string`, [
        { path: "record.id", message: "expected a non-empty string" },
      ]);
    return this.run(`incidents.create ${r.id}`, async () => {
      const rows = await this.select<IncidentRow>(
        `INSERT INTO ops_incidents (id, tenant_id, fingerprint, type, severity, state, title, opened_at, updated_at, resolved_at, data, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz, $10::timestamptz, $11::jsonb, 1)
         RETURNING ${INCIDENT_COLUMNS}`,
        [r.id, r.tenantId, r.fingerprint, r.type, r.severity, r.state, r.title, r.openedAt, r.updatedAt, r.resolvedAt ?? null, JSON.stringify(r.data ?? {})],
      );
      return toRecord(rows[0]!);
    });
  }

  async get(input: { tenantId: TenantKey; id: string }): Promise<IncidentRecord | null> {
    return this.run("incidents.get", async () => {
      const rows = await this.select<IncidentRow>(
        `SELECT ${INCIDENT_COLUMNS} FROM ops_incidents WHERE ${tenantIs(input.tenantId, "$1")} AND id = $2`,
        [input.tenantId, input.id],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    });
  }

  async findActive(input: { tenantId: TenantKey; fingerprint: string }): Promise<IncidentRecord | null> {
    return this.run("incidents.findActive", async () => {
      const rows = await this.select<IncidentRow>(
        `SELECT ${INCIDENT_COLUMNS} FROM ops_incidents
         WHERE ${tenantIs(input.tenantId, "$1")} AND fingerprint = $2 AND state <> 'resolved'
         ORDER BY opened_at DESC, id DESC LIMIT 1`,
        [input.tenantId, input.fingerprint],
      );
      return rows[0] ? toRecord(rows[0]) : null;
    });
  }

  /** @throws ConflictError when expectedVersion is stale; NotFoundError when absent in this tenant. */
  async update(input: {
    tenantId: TenantKey;
    id: string;
    expectedVersion: number;
    patch: Partial<Pick<IncidentRecord, "state" | "severity" | "title" | "updatedAt" | "resolvedAt" | "data">>;
  }): Promise<IncidentRecord> {
    const p = input.patch ?? {};
    const values: unknown[] = [input.tenantId, input.id, input.expectedVersion];
    const sets = ["version = version + 1"];
    const set = (column: string, value: unknown, cast = "") => {
      values.push(value);
      sets.push(`${column} = $${values.length}${cast}`);
    };
    if (p.state !== undefined) set("state", p.state);
    if (p.severity !== undefined) set("severity", p.severity);
    if (p.title !== undefined) set("title", p.title);
    if (p.updatedAt !== undefined) set("updated_at", p.updatedAt, "::timestamptz");
    if (p.resolvedAt !== undefined) set("resolved_at", p.resolvedAt, "::timestamptz");
    if (p.data !== undefined) set("data", JSON.stringify(p.data), "::jsonb");
    return this.run(`incidents.update ${input.id}`, async () => {
      const rows = await this.select<IncidentRow>(
        `UPDATE ops_incidents SET ${sets.join(", ")}
         WHERE ${tenantIs(input.tenantId, "$1")} AND id = $2 AND version = $3
         RETURNING ${INCIDENT_COLUMNS}`,
        values,
      );
      if (rows[0]) return toRecord(rows[0]);
      const current = await this.get(input);
      if (!current) throw new NotFoundError(`[ops/${PKG}] incident ${input.id} not found`);
      throw new ConflictError(
        `[ops/${PKG}] incident ${input.id}: expectedVersion ${input.expectedVersion} is stale (now ${current.version})`,
      );
    });
  }

  /** @throws ValidationError for a bad limit or cursor. */
  async list(input: IncidentListQuery): Promise<Page<IncidentRecord>> {
    const limit = pageLimit(input.limit, PKG);
    const after = input.cursor ? (decodeCursor(input.cursor, 2, PKG) as [string, string]) : null;
    return this.run("incidents.list", async () => {
      const rows = await this.select<IncidentRow>(
        `SELECT ${INCIDENT_COLUMNS} FROM ops_incidents
         WHERE ${tenantIs(input.tenantId, "$1")}
           AND ($2::text[] IS NULL OR state = ANY($2::text[]))
           AND ($3::text[] IS NULL OR type = ANY($3::text[]))
           AND ($4::timestamptz IS NULL OR (opened_at, id) < ($4::timestamptz, $5::text))
         ORDER BY opened_at DESC, id DESC LIMIT $6`,
        [
          input.tenantId,
          input.states ? [...input.states] : null,
          input.types ? [...input.types] : null,
          after?.[0] ?? null,
          after?.[1] ?? null,
          limit + 1,
        ],
      );
      const items = rows.slice(0, limit).map(toRecord);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.openedAt, last.id]) : null };
    });
  }

  /** Every tenant's incidents by id (unique across tenants: the primary key serves the walk). */
  async scan(input: IncidentScanQuery): Promise<Page<IncidentRecord>> {
    const limit = pageLimit(input.limit, PKG);
    const after = input.cursor ? String(decodeCursor(input.cursor, 1, PKG)[0]) : null;
    return this.run("incidents.scan", async () => {
      const rows = await this.select<IncidentRow>(
        `SELECT ${INCIDENT_COLUMNS} FROM ops_incidents
         WHERE ($1::text[] IS NULL OR state = ANY($1::text[]))
           AND ($2::text IS NULL OR id > $2::text)
         ORDER BY id LIMIT $3`,
        [input.states ? [...input.states] : null, after, limit + 1],
      );
      const items = rows.slice(0, limit).map(toRecord);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null };
    });
  }

  async getModel(input: { tenantId: TenantKey; name: string }): Promise<IncidentModelRecord | null> {
    return this.run("incidents.getModel", async () => {
      const rows = await this.select<ModelRow>(
        `SELECT ${MODEL_COLUMNS} FROM ops_incident_models WHERE ${tenantIs(input.tenantId, "$1")} AND name = $2`,
        [input.tenantId, input.name],
      );
      return rows[0] ? toModel(rows[0]) : null;
    });
  }

  /** @throws ConflictError when the version differs (or it exists and null was expected). */
  async putModel(input: {
    tenantId: TenantKey;
    name: string;
    model: JsonObject;
    expectedVersion: number | null;
    updatedAt: string;
  }): Promise<IncidentModelRecord> {
    return this.run(`incidents.putModel ${input.name}`, async () => {
      const model = JSON.stringify(input.model);
      const rows =
        input.expectedVersion === null
          ? await this.select<ModelRow>(
              `INSERT INTO ops_incident_models (tenant_id, name, model, version, updated_at)
               VALUES ($1, $2, $3::jsonb, 1, $4::timestamptz)
               ON CONFLICT ON CONSTRAINT ops_incident_models_tenant_name_key DO NOTHING
               RETURNING ${MODEL_COLUMNS}`,
              [input.tenantId, input.name, model, input.updatedAt],
            )
          : await this.select<ModelRow>(
              `UPDATE ops_incident_models SET model = $3::jsonb, version = version + 1, updated_at = $4::timestamptz
               WHERE ${tenantIs(input.tenantId, "$1")} AND name = $2 AND version = $5
               RETURNING ${MODEL_COLUMNS}`,
              [input.tenantId, input.name, model, input.updatedAt, input.expectedVersion],
            );
      if (rows[0]) return toModel(rows[0]);
      throw new ConflictError(
        `[ops/${PKG}] model ${input.name}: expectedVersion ${input.expectedVersion ?? "null"} does not match what is stored`,
      );
    });
  }
}
