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
  forgetReplacements,
  scrubJson,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
} from "@ops/core";
import { MemoryStoreBase, tick } from "./base.js";

const scopeKey = (tenantId: TenantKey, id: string) => `${tenantId === null ? "\u0000" : `t:${tenantId}`}\u0001${id}`;

/** In-process `IncidentStore`: the reference semantics (CAS versions, keyset cursors, tenant scopes). */
export class MemoryIncidentStore extends MemoryStoreBase implements IncidentStore {
  /** By id (ids are unique across tenants, as a primary key is). */
  private readonly byId = new Map<string, IncidentRecord>();
  private readonly models = new Map<string, IncidentModelRecord>();

  /** Conformance backdoor (`IncidentRawBackdoor`): the stored record, any tenant, no copy-out filters. */
  rawIncident(id: string): IncidentRecord | null {
    const r = this.byId.get(id);
    return r ? this.copy(r) : null;
  }

  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    this.assertOpen();
    await tick();
    const ids = forgetReplacements(input);
    let records = 0;
    for (const [key, r] of this.byId) {
      if (r.tenantId !== input.tenantId) continue;
      const title = scrubJson(r.title, ids);
      const data = scrubJson(r.data, ids);
      if (title === r.title && data === r.data) continue;
      this.byId.set(key, { ...r, title, data, version: r.version + 1 });
      records++;
    }
    return { records };
  }

  async create(input: { record: Omit<IncidentRecord, "version"> }): Promise<IncidentRecord> {
    this.assertOpen();
    await tick();
    const r = input.record;
    if (!r || typeof r.id !== "string" || r.id.length === 0)
      throw new ValidationError("[ops/adapter-memory] invalid incident: record.id must be a non-empty string", [
        { path: "record.id", message: "expected a non-empty string" },
      ]);
    if (this.byId.has(r.id)) throw new ConflictError(`[ops/adapter-memory] incident ${r.id} already exists`);
    if (r.state !== "resolved") {
      for (const other of this.byId.values())
        if (other.tenantId === r.tenantId && other.fingerprint === r.fingerprint && other.state !== "resolved")
          throw new ConflictError(
            `[ops/adapter-memory] an active incident with fingerprint ${r.fingerprint} already exists (${other.id})`,
          );
    }
    const stored: IncidentRecord = { ...this.copy(r), version: 1 };
    this.byId.set(r.id, stored);
    return this.copy(stored);
  }

  async get(input: { tenantId: TenantKey; id: string }): Promise<IncidentRecord | null> {
    this.assertOpen();
    const r = this.byId.get(input.id);
    return r && r.tenantId === input.tenantId ? this.copy(r) : null;
  }

  async findActive(input: { tenantId: TenantKey; fingerprint: string }): Promise<IncidentRecord | null> {
    this.assertOpen();
    for (const r of this.byId.values())
      if (r.tenantId === input.tenantId && r.fingerprint === input.fingerprint && r.state !== "resolved")
        return this.copy(r);
    return null;
  }

  async update(input: {
    tenantId: TenantKey;
    id: string;
    expectedVersion: number;
    patch: Partial<Pick<IncidentRecord, "state" | "severity" | "title" | "updatedAt" | "resolvedAt" | "data">>;
  }): Promise<IncidentRecord> {
    this.assertOpen();
    await tick();
    const r = this.byId.get(input.id);
    if (!r || r.tenantId !== input.tenantId) throw new NotFoundError(`[ops/adapter-memory] incident ${input.id} not found`);
    if (r.version !== input.expectedVersion)
      throw new ConflictError(
        `[ops/adapter-memory] incident ${input.id}: expectedVersion ${input.expectedVersion} is stale (now ${r.version})`,
      );
    const patch = this.copy(input.patch);
    const next: IncidentRecord = { ...r, version: r.version + 1 };
    if (patch.state !== undefined) next.state = patch.state;
    if (patch.severity !== undefined) next.severity = patch.severity;
    if (patch.title !== undefined) next.title = patch.title;
    if (patch.updatedAt !== undefined) next.updatedAt = patch.updatedAt;
    if (patch.resolvedAt !== undefined) next.resolvedAt = patch.resolvedAt;
    if (patch.data !== undefined) next.data = patch.data;
    this.byId.set(r.id, next);
    return this.copy(next);
  }

  async list(input: IncidentListQuery): Promise<Page<IncidentRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "adapter-memory");
    const after = input.cursor ? decodeCursor(input.cursor, 2, "adapter-memory") : null;
    const states = input.states ? new Set<string>(input.states) : null;
    const types = input.types ? new Set(input.types) : null;
    const rows = [...this.byId.values()]
      .filter((r) => r.tenantId === input.tenantId)
      .filter((r) => (!states || states.has(r.state)) && (!types || types.has(r.type)))
      .sort((a, b) => (a.openedAt === b.openedAt ? cmp(b.id, a.id) : cmp(b.openedAt, a.openedAt)))
      .filter((r) => {
        if (!after) return true;
        const [at, id] = after as [string, string];
        return r.openedAt < at || (r.openedAt === at && r.id < id);
      });
    return this.page(rows, limit, (r) => [r.openedAt, r.id]);
  }

  async scan(input: IncidentScanQuery): Promise<Page<IncidentRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "adapter-memory");
    const after = input.cursor ? (decodeCursor(input.cursor, 1, "adapter-memory")[0] as string) : null;
    const states = input.states ? new Set<string>(input.states) : null;
    const rows = [...this.byId.values()]
      .filter((r) => (!states || states.has(r.state)) && (after === null || r.id > after))
      .sort((a, b) => cmp(a.id, b.id));
    return this.page(rows, limit, (r) => [r.id]);
  }

  async getModel(input: { tenantId: TenantKey; name: string }): Promise<IncidentModelRecord | null> {
    this.assertOpen();
    const m = this.models.get(scopeKey(input.tenantId, input.name));
    return m ? this.copy(m) : null;
  }

  async putModel(input: {
    tenantId: TenantKey;
    name: string;
    model: JsonObject;
    expectedVersion: number | null;
    updatedAt: string;
  }): Promise<IncidentModelRecord> {
    this.assertOpen();
    await tick();
    const key = scopeKey(input.tenantId, input.name);
    const current = this.models.get(key);
    if ((current?.version ?? null) !== input.expectedVersion)
      throw new ConflictError(
        `[ops/adapter-memory] model ${input.name}: expectedVersion ${input.expectedVersion} does not match ${current?.version ?? "absent"}`,
      );
    const next: IncidentModelRecord = {
      tenantId: input.tenantId,
      name: input.name,
      model: this.copy(input.model),
      version: (current?.version ?? 0) + 1,
      updatedAt: input.updatedAt,
    };
    this.models.set(key, next);
    return this.copy(next);
  }

  private page(rows: IncidentRecord[], limit: number, key: (r: IncidentRecord) => string[]): Page<IncidentRecord> {
    const items = rows.slice(0, limit).map((r) => this.copy(r));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(key(last)) : null };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
