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
  type PendingEffect,
  type TenantKey,
  forgetReplacements,
  scrubJson,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
} from "@ops/core";
import { MemoryStoreBase, tick, type MemoryStoreOptions } from "./base.js";
import { MemoryEffectStore } from "./effect-store.js";

const scopeKey = (tenantId: TenantKey, id: string) => `${tenantId === null ? "\u0000" : `t:${tenantId}`}\u0001${id}`;

/**
 * In-process `IncidentStore`: the reference semantics (CAS versions, keyset cursors, tenant scopes).
 * Indexed like a database would be, so no call walks every incident: the active incident per
 * fingerprint (the partial unique index), ids in order (scan), active ids in order (the runtime's
 * sweep), and each tenant's ids newest first (list).
 */
export class MemoryIncidentStore extends MemoryStoreBase implements IncidentStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "incidents" as const;

  /** Where `effects` of writes go (atomically with the write). */
  readonly effects: MemoryEffectStore;

  constructor(options: MemoryStoreOptions = {}) {
    super(options);
    this.effects = options.effects ?? new MemoryEffectStore(options);
  }

  /** By id (ids are unique across tenants, as a primary key is). */
  private readonly byId = new Map<string, IncidentRecord>();
  private readonly models = new Map<string, IncidentModelRecord>();
  /** scopeKey(tenant, fingerprint) -> id of the active incident. */
  private readonly activeByFingerprint = new Map<string, string>();
  /** Every id, ascending. */
  private readonly ids: string[] = [];
  /** Ids of active (not resolved) incidents, ascending. */
  private readonly activeIds: string[] = [];
  /** scopeKey(tenant, "") -> that tenant's incidents, newest first (openedAt desc, id desc). */
  private readonly byTenant = new Map<string, IncidentRecord[]>();

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
    for (const r of this.byId.values()) {
      if (r.tenantId !== input.tenantId) continue;
      const title = scrubJson(r.title, ids);
      const data = scrubJson(r.data, ids);
      if (title === r.title && data === r.data) continue;
      // In place: the per-tenant and active indexes hold the same record objects.
      r.title = title;
      r.data = data;
      r.version += 1;
      records++;
    }
    return { records };
  }

  async create(input: { record: Omit<IncidentRecord, "version">; effects?: readonly PendingEffect[] }): Promise<IncidentRecord> {
    this.assertOpen();
    this.effects.check(input.effects);
    await tick();
    const r = input.record;
    if (!r || typeof r.id !== "string" || r.id.length === 0)
      throw new ValidationError("[ops/adapter-memory] invalid incident: record.id must be a non-empty string", [
        { path: "record.id", message: "expected a non-empty string" },
      ]);
    if (this.byId.has(r.id)) throw new ConflictError(`[ops/adapter-memory] incident ${r.id} already exists`);
    if (r.state !== "resolved") {
      const other = this.activeByFingerprint.get(scopeKey(r.tenantId, r.fingerprint));
      if (other !== undefined)
        throw new ConflictError(`[ops/adapter-memory] an active incident with fingerprint ${r.fingerprint} already exists (${other})`);
    }
    const stored: IncidentRecord = { ...this.copy(r), version: 1 };
    this.byId.set(r.id, stored);
    insertSorted(this.ids, r.id, cmp);
    if (stored.state !== "resolved") {
      this.activeByFingerprint.set(scopeKey(r.tenantId, r.fingerprint), r.id);
      insertSorted(this.activeIds, r.id, cmp);
    }
    let list = this.byTenant.get(scopeKey(r.tenantId, ""));
    if (!list) this.byTenant.set(scopeKey(r.tenantId, ""), (list = []));
    insertSorted(list, stored, newestFirst);
    this.effects.addNow(input.effects);
    return this.copy(stored);
  }

  async get(input: { tenantId: TenantKey; id: string }): Promise<IncidentRecord | null> {
    this.assertOpen();
    const r = this.byId.get(input.id);
    return r && r.tenantId === input.tenantId ? this.copy(r) : null;
  }

  async findActive(input: { tenantId: TenantKey; fingerprint: string }): Promise<IncidentRecord | null> {
    this.assertOpen();
    const id = this.activeByFingerprint.get(scopeKey(input.tenantId, input.fingerprint));
    const r = id === undefined ? undefined : this.byId.get(id);
    return r ? this.copy(r) : null;
  }

  async update(input: {
    tenantId: TenantKey;
    id: string;
    expectedVersion: number;
    effects?: readonly PendingEffect[];
    patch: Partial<Pick<IncidentRecord, "state" | "severity" | "title" | "updatedAt" | "resolvedAt" | "data">>;
  }): Promise<IncidentRecord> {
    this.assertOpen();
    this.effects.check(input.effects);
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
    const fp = scopeKey(r.tenantId, r.fingerprint);
    if (r.state === "resolved" && next.state !== "resolved") {
      // Re-activating must respect the one-active-per-fingerprint rule, as the partial index does.
      const other = this.activeByFingerprint.get(fp);
      if (other !== undefined && other !== r.id)
        throw new ConflictError(`[ops/adapter-memory] an active incident with fingerprint ${r.fingerprint} already exists (${other})`);
      this.activeByFingerprint.set(fp, r.id);
      insertSorted(this.activeIds, r.id, cmp);
    } else if (r.state !== "resolved" && next.state === "resolved") {
      if (this.activeByFingerprint.get(fp) === r.id) this.activeByFingerprint.delete(fp);
      removeSorted(this.activeIds, r.id, cmp);
    }
    this.byId.set(r.id, next);
    const list = this.byTenant.get(scopeKey(r.tenantId, ""))!;
    list[lowerBound(list, r, newestFirst)] = next;
    this.effects.addNow(input.effects);
    return this.copy(next);
  }

  async list(input: IncidentListQuery): Promise<Page<IncidentRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "adapter-memory");
    const after = input.cursor ? decodeCursor(input.cursor, 2, "adapter-memory") : null;
    const states = input.states ? new Set<string>(input.states) : null;
    const types = input.types ? new Set(input.types) : null;
    const list = this.byTenant.get(scopeKey(input.tenantId, "")) ?? [];
    let i = 0;
    if (after) {
      const [openedAt, id] = after as [string, string];
      // The first record strictly after the cursor in (openedAt desc, id desc) order.
      i = upperBound(list, { openedAt, id } as IncidentRecord, newestFirst);
    }
    const rows: IncidentRecord[] = [];
    for (; i < list.length && rows.length <= limit; i++) {
      const r = list[i]!;
      if ((!states || states.has(r.state)) && (!types || types.has(r.type))) rows.push(r);
    }
    return this.page(rows, limit, (r) => [r.openedAt, r.id]);
  }

  async scan(input: IncidentScanQuery): Promise<Page<IncidentRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "adapter-memory");
    const after = input.cursor ? (decodeCursor(input.cursor, 1, "adapter-memory")[0] as string) : null;
    const states = input.states ? new Set<string>(input.states) : null;
    // Active states only (the runtime's sweep): walk the active ids, not every incident ever.
    const source = states && !states.has("resolved") ? this.activeIds : this.ids;
    const rows: IncidentRecord[] = [];
    for (let i = after === null ? 0 : upperBound(source, after, cmp); i < source.length && rows.length <= limit; i++) {
      const r = this.byId.get(source[i]!)!;
      if (!states || states.has(r.state)) rows.push(r);
    }
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

/** Newest first: openedAt desc, then id desc (the order of `list`). */
function newestFirst(a: IncidentRecord, b: IncidentRecord): number {
  return a.openedAt === b.openedAt ? cmp(b.id, a.id) : cmp(b.openedAt, a.openedAt);
}

/** First index whose element is not before `x`. */
function lowerBound<T>(arr: readonly T[], x: T, order: (a: T, b: T) => number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order(arr[mid]!, x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose element is after `x`. */
function upperBound<T>(arr: readonly T[], x: T, order: (a: T, b: T) => number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order(arr[mid]!, x) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted<T>(arr: T[], x: T, order: (a: T, b: T) => number): void {
  arr.splice(lowerBound(arr, x, order), 0, x);
}

function removeSorted<T>(arr: T[], x: T, order: (a: T, b: T) => number): void {
  const i = lowerBound(arr, x, order);
  if (i < arr.length && order(arr[i]!, x) === 0) arr.splice(i, 1);
}
