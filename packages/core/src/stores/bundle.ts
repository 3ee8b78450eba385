import type { AuditStore } from "./audit-store.js";
import type { SubjectKeyStore } from "./audit-store.js";
import type { AuthEventStore } from "./auth-event-store.js";
import type { StoreCapabilities } from "./common.js";
import type { CounterStore } from "./counter-store.js";
import type { FlagStore } from "./flag-store.js";
import type { ChangeRequestStore } from "./change-request-store.js";
import type { IncidentStore } from "./incident-store.js";
import type { OutboxStore } from "./outbox-store.js";
import type { EffectStore } from "./effect-store.js";

/**
 * What an adapter factory returns (`memoryStores()`, `drizzleStores(db)`, `prismaStores(prisma)`,
 * `redisStores(redis)`). A store an adapter does not implement is absent, and `capabilities`
 * says why in the adapter's README.
 */
export interface OpsStores {
  readonly adapter: string;
  readonly capabilities: StoreCapabilities;
  audit?: AuditStore;
  /** Per-subject keys for crypto-shredding audit fields (`@ops/audit` `forgetSubject`). */
  auditKeys?: SubjectKeyStore;
  flags?: FlagStore;
  /** Flag change requests (four-eyes approvals, `@ops/flags` `FlagChangeRequests`). */
  changeRequests?: ChangeRequestStore;
  incidents?: IncidentStore;
  authEvents?: AuthEventStore;
  outbox?: OutboxStore;
  counters?: CounterStore;
  /** Pending side effects written with flag and incident changes (`capabilities.effects`), for `createEffectRelay`. */
  effects?: EffectStore;
  /** Closes every store. Idempotent. */
  close(): Promise<void>;
}
