// Compiled by test/client-fit.test.ts against the client generated from prisma/ops.prisma: proves
// that a real generated PrismaClient (and its interactive transaction client) fits the adapter's
// structural types with no cast. Not part of the package build.
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../.generated/client/client.ts";
import { prismaStores, type PrismaClientLike, type PrismaSqlClient } from "../src/index.js";

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: "postgres://localhost/db" }) });

const asLike: PrismaClientLike = prisma;
const stores = prismaStores(prisma);

export async function enqueueWithOrder(): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const sql: PrismaSqlClient = tx;
    await sql.$executeRawUnsafe("SELECT 1");
    await stores.outbox.enqueue({
      message: { id: "m1", tenantId: null, channel: "log", payload: {}, idempotencyKey: "k1", createdAt: new Date().toISOString() },
      tx,
    });
  });
}

export { asLike };
