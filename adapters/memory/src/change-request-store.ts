import {
  ConflictError,
  NotFoundError,
  ValidationError,
  decodeCursor,
  encodeCursor,
  pageLimit,
  type ChangeRequestPatch,
  type ChangeRequestRecord,
  type ChangeRequestStatus,
  type ChangeRequestStore,
  type NewChangeRequest,
  type Page,
  type PageRequest,
} from "@ops/core";
import { MemoryStoreBase, tick } from "./base.js";

const slot = (env: string, id: string) => `${env}\u0000${id}`;

/** In-process `ChangeRequestStore`: the reference semantics (CAS versions, keyset cursors, env partitions). */
export class MemoryChangeRequestStore extends MemoryStoreBase implements ChangeRequestStore {
  /** The contract guard installed on every instance (`guardStore` of @ops/core). */
  static readonly storeKind = "changeRequests" as const;
  private readonly rows = new Map<string, ChangeRequestRecord>();

  /** Conformance backdoor: the stored record, no copy-out filters. */
  rawChangeRequest(env: string, id: string): ChangeRequestRecord | null {
    const r = this.rows.get(slot(env, id));
    return r ? this.copy(r) : null;
  }

  async create(input: { request: NewChangeRequest }): Promise<ChangeRequestRecord> {
    this.assertOpen();
    await tick();
    const r = input.request;
    if (!r || typeof r.id !== "string" || r.id.length === 0)
      throw new ValidationError("[ops/adapter-memory] invalid change request: request.id must be a non-empty string", [
        { path: "request.id", message: "expected a non-empty string" },
      ]);
    const at = slot(r.env, r.id);
    if (this.rows.has(at)) throw new ConflictError(`[ops/adapter-memory] change request ${r.id} already exists in ${r.env}`);
    const now = this.clock.date().toISOString();
    const stored: ChangeRequestRecord = {
      ...this.copy(r),
      status: "pending",
      reviewer: null,
      reviewNote: null,
      appliedVersion: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    this.rows.set(at, stored);
    return this.copy(stored);
  }

  async get(input: { env: string; id: string }): Promise<ChangeRequestRecord | null> {
    this.assertOpen();
    const r = this.rows.get(slot(input.env, input.id));
    return r ? this.copy(r) : null;
  }

  async update(input: { env: string; id: string; expectedVersion: number; patch: ChangeRequestPatch }): Promise<ChangeRequestRecord> {
    this.assertOpen();
    await tick();
    const at = slot(input.env, input.id);
    const r = this.rows.get(at);
    if (!r) throw new NotFoundError(`[ops/adapter-memory] change request ${input.id} not found in ${input.env}`);
    if (r.version !== input.expectedVersion)
      throw new ConflictError(
        `[ops/adapter-memory] change request ${input.id}: expectedVersion ${input.expectedVersion} is stale (now ${r.version})`,
      );
    const p = this.copy(input.patch);
    const next: ChangeRequestRecord = { ...r, version: r.version + 1, updatedAt: this.clock.date().toISOString() };
    if (p.status !== undefined) next.status = p.status;
    if (p.reviewer !== undefined) next.reviewer = p.reviewer;
    if (p.reviewNote !== undefined) next.reviewNote = p.reviewNote;
    if (p.appliedVersion !== undefined) next.appliedVersion = p.appliedVersion;
    this.rows.set(at, next);
    return this.copy(next);
  }

  async list(
    input: { env: string; statuses?: readonly ChangeRequestStatus[]; key?: string } & PageRequest,
  ): Promise<Page<ChangeRequestRecord>> {
    this.assertOpen();
    const limit = pageLimit(input.limit, "adapter-memory");
    const after = input.cursor ? (decodeCursor(input.cursor, 1, "adapter-memory")[0] as string) : null;
    const statuses = input.statuses ? new Set<string>(input.statuses) : null;
    const rows = [...this.rows.values()]
      .filter((r) => r.env === input.env && (!statuses || statuses.has(r.status)) && (input.key === undefined || r.key === input.key))
      .filter((r) => after === null || r.id > after)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const items = rows.slice(0, limit).map((r) => this.copy(r));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null };
  }
}
