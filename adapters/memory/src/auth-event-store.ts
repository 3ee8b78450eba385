import {
  decodeCursor,
  encodeCursor,
  pageLimit,
  ValidationError,
  type AuthEventQuery,
  type AuthEventRecord,
  type AuthEventStore,
  type Page,
  type TenantKey,
  forgetReplacements,
  scrubJson,
  type ForgetSubjectInput,
  type ForgetSubjectResult,
} from "@ops/core";
import { MemoryStoreBase, tick } from "./base.js";

/** Event ids are per tenant; a tenant id never contains a NUL. */
const keyOf = (tenantId: TenantKey, id: string): string => `${tenantId ?? ""}\u0000${id}`;

/** In-process `AuthEventStore` (auth signals): idempotent appends, keyset pages. */
export class MemoryAuthEventStore extends MemoryStoreBase implements AuthEventStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "authEvents" as const;
  /** Events by `keyOf(tenantId, id)`: ids are unique per tenant. */
  private readonly byId = new Map<string, AuthEventRecord>();

  /** Conformance backdoor (`AuthEventRawBackdoor`): a stored event with this id, any tenant. */
  rawEvent(id: string): AuthEventRecord | null {
    for (const e of this.byId.values()) if (e.id === id) return this.copy(e);
    return null;
  }

  /** Conformance backdoor: how many stored events carry this id, across tenants. */
  rawCount(id: string): number {
    let n = 0;
    for (const e of this.byId.values()) if (e.id === id) n++;
    return n;
  }

  async forgetSubject(input: ForgetSubjectInput): Promise<ForgetSubjectResult> {
    this.assertOpen();
    await tick();
    const ids = forgetReplacements(input);
    const ips = new Set(input.identifiers);
    let records = 0;
    for (const [id, e] of this.byId) {
      if (e.tenantId !== input.tenantId) continue;
      const own = e.userId === input.subjectId;
      const next: AuthEventRecord = { ...e };
      if (own) next.userId = input.pseudonym;
      if (e.ip !== undefined && (own || ips.has(e.ip))) delete next.ip;
      if (e.meta) next.meta = scrubJson(e.meta, ids);
      if (own || next.ip !== e.ip || next.meta !== e.meta) {
        this.byId.set(id, next);
        records++;
      }
    }
    return { records };
  }

  async append(input: { events: readonly AuthEventRecord[] }): Promise<{ inserted: number }> {
    this.assertOpen();
    if (!Array.isArray(input.events))
      throw new ValidationError("[ops/adapter-memory] invalid append: events must be an array", [
        { path: "events", message: "expected an array" },
      ]);
    for (const [i, e] of input.events.entries())
      if (typeof e?.id !== "string" || e.id === "" || typeof e.type !== "string" || typeof e.occurredAt !== "string")
        throw new ValidationError(`[ops/adapter-memory] invalid append: events[${i}] needs id, type and occurredAt`, [
          { path: `events[${i}]`, message: "expected id, type and occurredAt strings" },
        ]);
    await tick();
    let inserted = 0;
    for (const e of input.events) {
      const k = keyOf(e.tenantId ?? null, e.id);
      if (this.byId.has(k)) continue;
      this.byId.set(k, this.copy(e));
      inserted++;
    }
    return { inserted };
  }

  async list(input: AuthEventQuery): Promise<Page<AuthEventRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "adapter-memory");
    const after = input.cursor ? (decodeCursor(input.cursor, 2, "adapter-memory") as [string, string]) : null;
    const types = input.types ? new Set(input.types) : null;
    const rows = [...this.byId.values()]
      .filter(
        (e) =>
          e.tenantId === input.tenantId &&
          (!types || types.has(e.type)) &&
          (input.userId === undefined || e.userId === input.userId) &&
          (input.ip === undefined || e.ip === input.ip) &&
          (input.from === undefined || e.occurredAt >= input.from) &&
          (input.to === undefined || e.occurredAt < input.to) &&
          (!after || e.occurredAt < after[0] || (e.occurredAt === after[0] && e.id < after[1])),
      )
      .sort((a, b) => (a.occurredAt === b.occurredAt ? desc(a.id, b.id) : desc(a.occurredAt, b.occurredAt)));
    const items = rows.slice(0, limit).map((e) => this.copy(e));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.occurredAt, last.id]) : null };
  }

  async countByType(input: { tenantId: TenantKey; from: string; to: string }): Promise<Record<string, number>> {
    this.assertOpen();
    const out: Record<string, number> = {};
    for (const e of this.byId.values())
      if (e.tenantId === input.tenantId && e.occurredAt >= input.from && e.occurredAt < input.to) out[e.type] = (out[e.type] ?? 0) + 1;
    return out;
  }

  async prune(input: { before: string }): Promise<number> {
    this.assertOpen();
    let removed = 0;
    for (const [id, e] of this.byId)
      if (e.occurredAt < input.before) {
        this.byId.delete(id);
        removed++;
      }
    return removed;
  }
}

function desc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}
