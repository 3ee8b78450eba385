import type { OpsStores } from "@ops/core";
import { PRISMA_CAPABILITIES, type PrismaStoreOptions } from "./base.js";
import { isPrismaSqlClient, type PrismaSqlClient } from "./client.js";
import { ConfigError } from "@ops/core";
import { PrismaAuditStore } from "./stores/audit-store.js";
import { PrismaAuthEventStore } from "./stores/auth-event-store.js";
import { PrismaCounterStore } from "./stores/counter-store.js";
import { PrismaFlagStore } from "./stores/flag-store.js";
import { PrismaIncidentStore } from "./stores/incident-store.js";
import { PrismaOutboxStore } from "./stores/outbox-store.js";
import { PrismaSubjectKeyStore } from "./stores/subject-key-store.js";

export type PrismaStoresOptions = PrismaStoreOptions;

export interface PrismaStores extends OpsStores {
  audit: PrismaAuditStore;
  auditKeys: PrismaSubjectKeyStore;
  flags: PrismaFlagStore;
  incidents: PrismaIncidentStore;
  authEvents: PrismaAuthEventStore;
  outbox: PrismaOutboxStore;
  counters: PrismaCounterStore;
}

/**
 * Every @ops store over the app's own PrismaClient (Prisma 7 with a driver adapter such as
 * `@prisma/adapter-pg`), on the tables of `prisma/ops.prisma`. The stores speak SQL through
 * `$queryRawUnsafe`/`$executeRawUnsafe` with bind parameters, so any generated client fits.
 * `close()` closes the stores, never the client: it belongs to the app.
 *
 * `prisma` may also be an interactive transaction handle: `prismaStores(tx)` inside
 * `prisma.$transaction` (or @ops/tenancy's `$withTenant`, which sets `app.tenant_id` for RLS) runs
 * every store call in that transaction.
 * @throws ConfigError when `prisma` is not a Prisma client.
 */
export function prismaStores(prisma: PrismaSqlClient, options: PrismaStoresOptions = {}): PrismaStores {
  if (!isPrismaSqlClient(prisma))
    throw new ConfigError("[ops/adapter-prisma] invalid prisma: expected a PrismaClient or transaction client (with $queryRawUnsafe and $executeRawUnsafe)", [
      { path: "prisma", message: "expected a PrismaClient" },
    ]);
  const stores = {
    audit: new PrismaAuditStore(prisma, options),
    auditKeys: new PrismaSubjectKeyStore(prisma, options),
    flags: new PrismaFlagStore(prisma, options),
    incidents: new PrismaIncidentStore(prisma, options),
    authEvents: new PrismaAuthEventStore(prisma, options),
    outbox: new PrismaOutboxStore(prisma, options),
    counters: new PrismaCounterStore(prisma, options),
  };
  return {
    adapter: "prisma",
    capabilities: Object.freeze({ ...PRISMA_CAPABILITIES, ...options.capabilities }),
    ...stores,
    async close() {
      await Promise.all(Object.values(stores).map((s) => s.close()));
    },
  };
}
