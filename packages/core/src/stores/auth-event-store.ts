import type { JsonObject } from "../json.js";
import type { AuthEventType } from "../schemas.js";
import type { Page, PageRequest } from "../cursor.js";
import type { Closeable, StoreCapabilities, TenantKey } from "./common.js";

/** One auth signal: the seed's AuthOpsLog row, plus ip and meta. */
export interface AuthEventRecord {
  id: string;
  type: AuthEventType;
  occurredAt: string;
  tenantId: TenantKey;
  userId?: string;
  ip?: string;
  provider?: string;
  meta?: JsonObject;
}

export interface AuthEventQuery extends PageRequest {
  tenantId: TenantKey;
  types?: readonly string[];
  userId?: string;
  ip?: string;
  /** Inclusive (ISO). */
  from?: string;
  /** Exclusive (ISO). */
  to?: string;
}

export interface AuthEventStore extends Closeable {
  readonly capabilities: StoreCapabilities;
  /** Appends events; ids are unique (a repeated id is ignored, so retries do not double count). */
  append(input: { events: readonly AuthEventRecord[] }): Promise<void>;
  /** Newest first (occurredAt desc, then id desc). */
  list(input: AuthEventQuery): Promise<Page<AuthEventRecord>>;
  /** Counts events per type for one tenant in [from, to). */
  countByType(input: { tenantId: TenantKey; from: string; to: string }): Promise<Record<string, number>>;
  /** Deletes events older than `before` (retention). Returns how many were removed. */
  prune(input: { before: string }): Promise<number>;
}
