import { describe, expect, it } from "vitest";
import { ConflictError, UnavailableError, type AuditRecord, type AuditSink, type AuditStore, type TenantKey } from "@ops/core";
import { MemoryAuditStore } from "@ops/adapter-memory";
import { createAuditLog, type ChainableEntry } from "@ops/audit";
import { memory } from "./helpers.js";

/** A store whose appends wait until released: lets a test fill the queue deterministically. */
class GatedStore extends MemoryAuditStore {
  gate: Promise<void> = Promise.resolve();
  release: () => void = () => {};
  appends = 0;
  batchSizes: number[] = [];
  hold(): void {
    this.gate = new Promise((r) => (this.release = r));
  }
  override async append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void> {
    this.appends++;
    this.batchSizes.push(input.records.length);
    await this.gate;
    return super.append(input);
  }
}

const entry = (i: number, tenantId: TenantKey = "t1") => ({
  action: "DATA_ACCESS" as const,
  actor: { id: `u${i}` },
  tenantId,
  meta: { i },
});

describe("createAuditLog: appends", () => {
  it("an awaited append is in the store when it resolves, chained per tenant", async () => {
    const { store, clock } = memory();
    const log = createAuditLog({ store, clock, env: "prod" });
    const a1 = await log.append(entry(1, "a"));
    expect((await store.head({ tenantId: "a" }))?.hash).toBe(a1.hash);
    const b1 = await log.append(entry(2, "b"));
    const a2 = await log.append(entry(3, "a"));
    const g1 = await log.append(entry(4, null));
    expect([a1.seq, b1.seq, a2.seq, g1.seq]).toEqual([1, 1, 2, 1]);
    expect(a2.prevHash).toBe(a1.hash);
    expect(a1.ts).toBe("2026-03-01T12:00:00.000Z");
    expect(a1.env).toBe("prod");
    expect(a1.id).toMatch(/^aud_/);
  });

  it("implements the AuditSink port of @ops/core (record)", async () => {
    const { store } = memory();
    const sink: AuditSink = createAuditLog({ store, env: "prod" });
    await sink.record({
      action: "FLAG_CHANGE",
      actor: { id: "admin", type: "user" },
      tenantId: "acme",
      target: { id: "new_checkout", type: "flag" },
      reason: "rollout",
      meta: { from: false, to: true },
    });
    const [r] = await store.range({ tenantId: "acme", fromSeq: 1 });
    expect(r).toMatchObject({
      action: "FLAG_CHANGE",
      target: { id: "new_checkout" },
      reason: "rollout",
      outcome: "success",
      meta: { from: false, to: true },
    });
  });

  it("concurrent appends in one process share store round trips (group commit)", async () => {
    const store = new GatedStore();
    const log = createAuditLog({ store, env: "prod", buffer: { maxBatch: 50 } });
    store.hold();
    const first = log.append(entry(0));
    await new Promise((r) => setImmediate(r));
    const rest = Array.from({ length: 120 }, (_, i) => log.append(entry(i + 1)));
    store.release();
    await Promise.all([first, ...rest]);
    expect(store.batchSizes).toEqual([1, 50, 50, 20]);
    expect((await log.verify({ tenantId: "t1" })).checked).toBe(121);
  });

  it("retries after ConflictError: two logs over one store never fork the chain", async () => {
    const { store } = memory();
    const a = createAuditLog({ store, env: "prod" });
    const b = createAuditLog({ store, env: "prod" });
    await a.append(entry(1));
    await b.append(entry(2)); // b had no cached head: reads it
    await a.append(entry(3)); // a's cached head is stale: conflict, re-read, retry
    expect(a.stats().conflicts).toBe(1);
    const v = await a.verify({ tenantId: "t1" });
    expect(v).toMatchObject({ ok: true, checked: 3 });
  });

  it("gives up with ConflictError after maxAttempts and reports a failing store", async () => {
    const always: AuditStore = Object.assign(new MemoryAuditStore(), {
      append: async () => {
        throw new ConflictError("taken");
      },
    });
    const log = createAuditLog({ store: always, env: "prod", maxAttempts: 3 });
    await expect(log.append(entry(1))).rejects.toThrow(/lost the race 3 times/);
    const down: AuditStore = Object.assign(new MemoryAuditStore(), {
      append: async () => {
        throw new UnavailableError("db down");
      },
    });
    const errors: unknown[] = [];
    const log2 = createAuditLog({ store: down, env: "prod", buffer: { onError: (e, entries) => errors.push([e, entries.length]) } });
    await expect(log2.append(entry(1))).rejects.toThrow(/db down/);
    log2.enqueue(entry(2));
    await log2.flush();
    expect(errors).toEqual([[expect.any(UnavailableError), 1]]);
    expect(log2.stats().failed).toBe(1);
  });
});

describe("createAuditLog: options", () => {
  it("bad options throw ConfigError naming each one", () => {
    const { store } = memory();
    const bad = (o: object, re: RegExp) => expect(() => createAuditLog({ store, ...o } as never)).toThrow(re);
    bad({ buffer: { maxBatch: 20_000 } }, /buffer\.maxBatch: expected 1\.\.10000/);
    bad({ buffer: { overflow: "spill" } }, /buffer\.overflow: expected "block", "reject" or "drop"/);
    bad({ env: "PROD" }, /env: expected a lower-case environment slug/);
    bad({ personalFields: ["actor.id"] }, /personalFields\[0\]/);
    bad({ checkpoints: { privateKey: "x", sinks: [{}] } }, /checkpoints\.sinks\[0\]: expected an object with write/);
    expect(() => createAuditLog({ store: {} } as never)).toThrow(/store: expected an object with append, head, range, query, chains/);
    expect(() => createAuditLog({ store, checkpoints: { privateKey: "not a pem", sinks: [] } })).toThrow(
      /checkpoints\.privateKey: expected an Ed25519 private key/,
    );
  });
});

describe("createAuditLog: unknown outcomes", () => {
  it("a write that committed but reported a connection error is not written twice", async () => {
    class FlakyStore extends MemoryAuditStore {
      failNext = true;
      override async append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void> {
        await super.append(input);
        if (this.failNext) {
          this.failNext = false;
          throw new UnavailableError("connection reset after commit");
        }
      }
    }
    const store = new FlakyStore();
    const log = createAuditLog({ store, env: "prod" });
    const r = await log.append(entry(1));
    expect(r.seq).toBe(1);
    await log.append(entry(2));
    expect(await log.verify({ tenantId: "t1" })).toMatchObject({ ok: true, checked: 2 });
    expect((await store.range({ tenantId: "t1", fromSeq: 1 })).map((x) => (x.meta as { i: number }).i)).toEqual([1, 2]);
  });

  it("a write that failed before committing is retried", async () => {
    class DownOnce extends MemoryAuditStore {
      failNext = true;
      override async append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void> {
        if (this.failNext) {
          this.failNext = false;
          throw new UnavailableError("connection refused");
        }
        return super.append(input);
      }
    }
    const store = new DownOnce();
    const log = createAuditLog({ store, env: "prod" });
    await log.append(entry(0));
    await log.append(entry(1));
    expect(await log.verify({ tenantId: "t1" })).toMatchObject({ ok: true, checked: 2 });
  });
});

describe("createAuditLog: bounded queue and overflow policies", () => {
  async function filled(overflow: "block" | "reject" | "drop", onDrop?: (e: ChainableEntry) => void) {
    const store = new GatedStore();
    const log = createAuditLog({ store, env: "prod", buffer: { maxQueue: 5, maxBatch: 100, overflow, ...(onDrop ? { onDrop } : {}) } });
    store.hold();
    const inflight = log.append(entry(0)); // taken by the drain loop, then blocked in the store
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const queued = Array.from({ length: 5 }, (_, i) => log.append(entry(i + 1)));
    expect(log.stats().queued).toBe(5);
    return { store, log, inflight, queued };
  }

  it('"reject": a full queue rejects new entries with UnavailableError, nothing is lost', async () => {
    const { store, log, inflight, queued } = await filled("reject");
    await expect(log.append(entry(99))).rejects.toThrow(UnavailableError);
    expect(() => log.enqueue(entry(98))).toThrow(/queue is full/);
    store.release();
    await Promise.all([inflight, ...queued]);
    expect((await log.verify({ tenantId: "t1" })).checked).toBe(6);
  });

  it('"drop": enqueue drops (counted, onDrop called) but an awaited append is rejected, never dropped', async () => {
    const dropped: ChainableEntry[] = [];
    const { store, log, inflight, queued } = await filled("drop", (e) => dropped.push(e));
    expect(log.enqueue(entry(98))).toBe(false);
    await expect(log.append(entry(99))).rejects.toThrow(UnavailableError);
    expect(log.stats().dropped).toBe(1);
    expect(dropped.map((e) => e.meta)).toEqual([{ i: 98 }]);
    store.release();
    await Promise.all([inflight, ...queued]);
    await log.flush();
    expect((await log.verify({ tenantId: "t1" })).checked).toBe(6);
  });

  it('"block": append waits for room and the queue never exceeds its bound', async () => {
    const { store, log, inflight, queued } = await filled("block");
    let done = false;
    const waiting = log.append(entry(99)).then((r) => ((done = true), r));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    expect(log.stats().queued).toBe(5);
    store.release();
    const last = await waiting;
    await Promise.all([inflight, ...queued]);
    expect(last.seq).toBe(7);
    expect((await log.verify({ tenantId: "t1" })).checked).toBe(7);
  });

  it('"block" under load: 200 concurrent appends through a queue of 5 all land, in order, bound kept', async () => {
    let maxSeen = 0;
    let log: ReturnType<typeof createAuditLog> | null = null;
    class Watching extends MemoryAuditStore {
      override async append(input: { tenantId: TenantKey; records: readonly AuditRecord[] }): Promise<void> {
        maxSeen = Math.max(maxSeen, log!.stats().queued);
        return super.append(input);
      }
    }
    const store = new Watching();
    log = createAuditLog({ store, env: "prod", buffer: { maxQueue: 5, maxBatch: 2, overflow: "block" } });
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => log!.append(entry(i))));
    expect(maxSeen).toBeLessThanOrEqual(5);
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect((await log.verify({ tenantId: "t1" })).checked).toBe(200);
  });

  it("flush() commits enqueued entries; close() flushes then refuses new entries", async () => {
    const { store } = memory();
    const log = createAuditLog({ store, env: "prod" });
    for (let i = 0; i < 25; i++) expect(log.enqueue(entry(i))).toBe(true);
    await log.flush();
    expect((await store.head({ tenantId: "t1" }))?.seq).toBe(25);
    for (let i = 0; i < 5; i++) log.enqueue(entry(100 + i));
    await log.close();
    expect((await store.head({ tenantId: "t1" }))?.seq).toBe(30);
    await expect(log.append(entry(1))).rejects.toThrow(/audit log is closed/);
    expect(() => log.enqueue(entry(1))).toThrow(UnavailableError);
    await log.close();
  });
});
