import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "@ops/core";
import { randomKey, requireService } from "@ops/testkit";
import { PrismaOutboxStore, inTransaction } from "../src/index.js";
import { rawOnPool } from "./helpers/raw.js";
import { createTestDatabase, type TestDatabase, type TestPrismaClient } from "./helpers/db.js";

const up = await requireService("postgres");

describe.skipIf(!up)("prisma: OutboxStore joins the caller's $transaction", () => {
  let db: TestDatabase;
  let prisma: TestPrismaClient;
  beforeAll(async () => {
    db = await createTestDatabase("outbox");
    prisma = await db.client();
  });
  afterAll(async () => db?.drop());

  const raw = {
    read: (id: string) => rawOnPool(db.pool).outbox.read(id),
    countByIdempotencyKey: (k: string) => rawOnPool(db.pool).outbox.countByIdempotencyKey(k),
  };

  const draft = () => {
    const id = randomKey("msg");
    return {
      id,
      tenantId: "t1",
      channel: "slack",
      payload: { text: "hi" },
      idempotencyKey: `k-${id}`,
      createdAt: new Date().toISOString(),
    };
  };

  it("enqueue with tx commits with the caller's transaction", async () => {
    const store = new PrismaOutboxStore(prisma);
    const m = draft();
    await inTransaction(prisma, async (tx) => {
      await tx.$executeRawUnsafe(`CREATE TABLE IF NOT EXISTS app_orders (id text PRIMARY KEY)`);
      await tx.$executeRawUnsafe(`INSERT INTO app_orders (id) VALUES ($1)`, m.id);
      await store.enqueue({ message: m, tx });
      // Not visible outside the transaction before it commits.
      expect(await raw.read(m.id)).toBeNull();
    });
    expect((await raw.read(m.id))?.status).toBe("pending");
  });

  it("enqueue with tx rolls back with the caller's transaction", async () => {
    const store = new PrismaOutboxStore(prisma);
    const m = draft();
    await expect(
      inTransaction(prisma, async (tx) => {
        await store.enqueue({ message: m, tx });
        throw new Error("business write failed");
      }),
    ).rejects.toThrow("business write failed");
    expect(await raw.read(m.id)).toBeNull();
    expect(await raw.countByIdempotencyKey(m.idempotencyKey)).toBe(0);
  });

  it("enqueue rejects a tx that is not a Prisma transaction client, writing nothing", async () => {
    const store = new PrismaOutboxStore(prisma);
    const m = draft();
    await expect(store.enqueue({ message: m, tx: { query: () => 1 } })).rejects.toBeInstanceOf(ValidationError);
    expect(await raw.read(m.id)).toBeNull();
  });
});
