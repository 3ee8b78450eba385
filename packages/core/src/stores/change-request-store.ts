import type { JsonValue } from "../json.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

/** Where a change request is in its life. Only `pending` (and `approved`, while it applies) move on. */
export type ChangeRequestStatus = "pending" | "approved" | "applied" | "rejected" | "cancelled" | "conflict";

/**
 * A proposed change to one flag record (a flag's definition, or a tenant's override) that another
 * principal must approve before it is written. `config` is opaque to the store (`@ops/flags`
 * owns its shape) and returned deep-equal.
 */
export interface ChangeRequestRecord {
  /** Unique per environment; chosen by the caller. */
  id: string;
  env: string;
  /** The flag key the change targets. */
  key: string;
  /** The record changed: null for the flag's definition, a tenant id for that tenant's override. */
  tenantId: TenantKey;
  /** What the change does (`set`, `update`, `disable`, `rules`, `delete`...), for display and policy. */
  kind: string;
  /** The proposed record config; null when the change deletes the record. */
  config: JsonValue | null;
  /** The change as the author asked for it (shown to reviewers). */
  change: JsonValue;
  /** The target record's version when proposed (null: absent). Approval applies only at this version. */
  baseVersion: number | null;
  author: string;
  reason: string;
  status: ChangeRequestStatus;
  reviewer: string | null;
  reviewNote: string | null;
  /** The flag record version the approved change produced (0 for a delete), once applied. */
  appliedVersion: number | null;
  /** Starts at 1, +1 on every update. */
  version: number;
  /** ISO-8601 UTC, set by the store. */
  createdAt: string;
  updatedAt: string;
}

/** The fields a caller supplies to create a change request; the store sets the rest. */
export type NewChangeRequest = Pick<
  ChangeRequestRecord,
  "id" | "env" | "key" | "tenantId" | "kind" | "config" | "change" | "baseVersion" | "author" | "reason"
>;

/** What an update may change. */
export type ChangeRequestPatch = Partial<Pick<ChangeRequestRecord, "status" | "reviewer" | "reviewNote" | "appliedVersion">>;

/**
 * Storage of flag change requests (four-eyes approvals). Everything is partitioned by `env`: no
 * method reads or writes across environments.
 */
export interface ChangeRequestStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /**
   * Stores a new request with `status: "pending"`, `version: 1`, no reviewer, `createdAt =
   * updatedAt = now`. Returns it as stored.
   * @throws ConflictError when a request with this `(env, id)` exists (two racing creators: one wins)
   */
  create(input: { request: NewChangeRequest }): Promise<ChangeRequestRecord>;
  /** The request, or null. */
  get(input: { env: string; id: string }): Promise<ChangeRequestRecord | null>;
  /**
   * Applies `patch` with compare-and-set as ONE guarded write: only when the stored version is
   * exactly `expectedVersion`; writes `version + 1` and `updatedAt = now`. Under N concurrent
   * updates with the same expected version exactly one wins; the others get `ConflictError` and
   * change nothing (this is what makes "approve" and "reject" race safely).
   * @throws ConflictError on a stale version; NotFoundError when absent
   */
  update(input: { env: string; id: string; expectedVersion: number; patch: ChangeRequestPatch }): Promise<ChangeRequestRecord>;
  /**
   * The environment's requests, optionally only those with one of `statuses` and/or for one flag
   * `key`, ordered by `id` in binary order, keyset-paged with an opaque cursor (complete, no
   * duplicates under concurrent inserts).
   * @throws ValidationError for a bad `limit` or a foreign cursor
   */
  list(input: { env: string; statuses?: readonly ChangeRequestStatus[]; key?: string } & PageRequest): Promise<Page<ChangeRequestRecord>>;
}
