export { prismaStores, type PrismaStores, type PrismaStoresOptions } from "./prisma-stores.js";
export { PRISMA_CAPABILITIES, type PrismaStoreOptions } from "./base.js";
export type { PrismaClientLike, PrismaSqlClient } from "./client.js";
export { mapPrismaError } from "./errors.js";
export { OPS_MIGRATIONS, applyOpsMigrations, migrationStatements } from "./migrations.js";
export { PrismaFlagStore } from "./stores/flag-store.js";
