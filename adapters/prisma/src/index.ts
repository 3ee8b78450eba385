export {
  prismaStores,
  mapPrismaError,
  applyOpsMigrations,
  PRISMA_CAPABILITIES,
  PrismaAuditStore,
  PrismaSubjectKeyStore,
  PrismaFlagStore,
  PrismaIncidentStore,
  PrismaAuthEventStore,
  PrismaOutboxStore,
  PrismaCounterStore,
  type PrismaStores,
  type PrismaStoresOptions,
  type PrismaStoreOptions,
} from "./prisma-stores.js";
export { inTransaction, prismaExecutor, type PrismaClientLike, type PrismaSqlClient } from "./client.js";
export { OPS_MIGRATIONS, migrationStatements, nodePgListener, type PgListener } from "@ops/adapter-postgres";
