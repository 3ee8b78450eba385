import type { OpsStores } from "@ops/core";
import { PrismaStoreBase, type PrismaStoreOptions } from "./base.js";
import type { PrismaClientLike } from "./client.js";
import { PrismaFlagStore } from "./stores/flag-store.js";

export type PrismaStoresOptions = PrismaStoreOptions;

export interface PrismaStores extends OpsStores {
  flags: PrismaFlagStore;
}

/**
 * Every @ops store over the app's own PrismaClient (Prisma 7 with a driver adapter such as
 * `@prisma/adapter-pg`), on the tables of prisma/ops.prisma. `close()` closes the stores, never
 * the client: it belongs to the app.
 */
export function prismaStores(prisma: PrismaClientLike, options: PrismaStoresOptions = {}): PrismaStores {
  const stores = {
    flags: new PrismaFlagStore(prisma, options),
  };
  const capabilities = stores.flags.capabilities;
  return {
    adapter: "prisma",
    capabilities,
    ...stores,
    async close() {
      await Promise.all(Object.values(stores).map((s: PrismaStoreBase) => s.close()));
    },
  };
}
