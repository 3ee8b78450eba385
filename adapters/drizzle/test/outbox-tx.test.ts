import { randomKey, randomTenant } from "@ops/testkit";
import { expect, it } from "vitest";
import { ValidationError } from "@ops/core";
import { forEachDriver } from "./support/drivers.js";

const draft = (tenantId: string) => {
  const id = randomKey("msg");
  return { id, tenantId, channel: "slack", payload: { text: "hi" }, idempotencyKey: `idem-${id}`, createdAt: "2030-01-01T00:00:00.000Z" };
};

class Rollback extends Error {}

await forEachDriver("outbox_tx", (driver, harness) => {
  it("enqueue with tx commits with the caller's transaction", async () => {
    const { db, stores } = await harness();
    const m = draft(randomTenant());
    const inside = await db.transaction(async (tx) => stores.outbox.enqueue({ message: m, tx }));
    expect(inside.id).toBe(m.id);
    expect((await stores.outbox.get({ id: m.id }))?.status).toBe("pending");
  });

  it("enqueue with tx rolls back with the caller's transaction: no message is left", async () => {
    const { db, stores } = await harness();
    const m = draft(randomTenant());
    await expect(
      db.transaction(async (tx) => {
        await stores.outbox.enqueue({ message: m, tx });
        // Outside the transaction the message is not visible before commit (read on the pool).
        if (driver !== "pglite") expect(await stores.outbox.get({ id: m.id })).toBeNull();
        throw new Rollback("business write failed");
      }),
    ).rejects.toBeInstanceOf(Rollback);
    // ...and after the rollback it never existed.
    expect(await stores.outbox.get({ id: m.id })).toBeNull();
  });

  it("a tx that is not a Drizzle transaction is a ValidationError and writes nothing", async () => {
    const { stores } = await harness();
    const m = draft(randomTenant());
    await expect(stores.outbox.enqueue({ message: m, tx: {} })).rejects.toBeInstanceOf(ValidationError);
    expect(await stores.outbox.get({ id: m.id })).toBeNull();
  });

  it("claim hands each due message to exactly one of 8 concurrent workers (FOR UPDATE SKIP LOCKED)", async () => {
    const { stores } = await harness();
    const channel = randomKey("ch");
    const tenant = randomTenant();
    for (let i = 0; i < 40; i++) await stores.outbox.enqueue({ message: { ...draft(tenant), channel } });
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        stores.outbox.claim({ workerId: `w${w}`, limit: 10, leaseMs: 60_000, now: "2030-01-01T00:01:00.000Z", channels: [channel] }),
      ),
    );
    const ids = claims.flat().map((m) => m.id);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
  });
});
