import { expect } from "vitest";
import {
  ConflictError,
  ManualClock,
  NotFoundError,
  UnsupportedError,
  ValidationError,
  type OutboxEnqueueMessage,
  type OutboxMessage,
  type OutboxStore,
} from "@ops/core";
import {
  concurrently,
  randomKey,
  randomTenant,
  registerCases,
  withStore,
  type ConformanceCase,
  type ConformanceOptions,
} from "./conformance.js";
import { guardCases } from "./guard.js";

/**
 * Reads what an outbox adapter really stored, bypassing its own read methods (SQL rows, Redis
 * hashes). Cases that need it skip their raw checks when the adapter gives none.
 */
export interface OutboxRawBackdoor {
  /** The stored row for `id`, mapped to the `OutboxMessage` shape, or null. */
  read(id: string): Promise<OutboxMessage | null>;
  /** How many stored messages carry `idempotencyKey`, across tenants (at most 1 per tenant). */
  countByIdempotencyKey(idempotencyKey: string): Promise<number>;
}

export type OutboxConformanceOptions = ConformanceOptions<OutboxStore, OutboxRawBackdoor>;

const T0 = Date.parse("2030-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** A fresh message on a channel no other case uses (stores may be shared between cases). */
function draft(channel: string, tenantId: string | null, over: Partial<OutboxEnqueueMessage> = {}): OutboxEnqueueMessage {
  const id = randomKey("msg");
  return { id, tenantId, channel, payload: { text: `hello ${id}`, n: 1 }, idempotencyKey: `idem-${id}`, createdAt: iso(T0), ...over };
}

async function rejectsWith(p: Promise<unknown>, type: abstract new (...args: never[]) => Error): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(type);
}

/** The OutboxStore contract (see `OutboxStore` in @ops/core), runnable against any adapter. */
export function outboxStoreCases(opts: OutboxConformanceOptions): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  const add = (name: string, run: (store: OutboxStore, raw: OutboxRawBackdoor | undefined) => Promise<void>) =>
    cases.push({ name, run: () => withStore(opts, run) });

  add("enqueue stores a pending message with defaults, as really stored", async (store, raw) => {
    const ch = randomKey("ch");
    const d = draft(ch, randomTenant());
    const m = await store.enqueue({ message: d });
    expect(m).toMatchObject({ id: d.id, tenantId: d.tenantId, channel: ch, payload: d.payload, status: "pending", attempts: 0 });
    expect(m).toMatchObject({
      nextAttemptAt: d.createdAt,
      leaseOwner: null,
      leaseUntil: null,
      lastError: null,
      deliveredAt: null,
      finishedAt: null,
      version: 1,
    });
    expect(await store.get({ id: d.id })).toEqual(m);
    expect(await store.findByIdempotencyKey({ tenantId: d.tenantId, idempotencyKey: d.idempotencyKey })).toEqual(m);
    if (raw) expect(await raw.read(d.id)).toEqual(m);
    expect(await store.get({ id: randomKey("missing") })).toBeNull();
    expect(await store.findByIdempotencyKey({ tenantId: d.tenantId, idempotencyKey: randomKey("missing") })).toBeNull();
    // Keys are per tenant: the same key in another tenant finds nothing.
    expect(await store.findByIdempotencyKey({ tenantId: randomTenant(), idempotencyKey: d.idempotencyKey })).toBeNull();
  });

  add("enqueue is idempotent under 20 concurrent enqueuers with one key", async (store, raw) => {
    const ch = randomKey("ch");
    const tenant = randomTenant();
    const key = randomKey("idem");
    const { fulfilled, rejected } = await concurrently(20, (i) =>
      store.enqueue({ message: draft(ch, tenant, { idempotencyKey: key, payload: { i } }) }),
    );
    expect(rejected).toEqual([]);
    const ids = new Set(fulfilled.map((m) => m.id));
    expect(ids.size).toBe(1);
    const winner = fulfilled[0]!;
    expect(fulfilled.every((m) => JSON.stringify(m.payload) === JSON.stringify(winner.payload))).toBe(true);
    const page = await store.list({ tenantId: tenant, limit: 100 });
    expect(page.items.map((m) => m.id)).toEqual([winner.id]);
    if (raw) expect(await raw.countByIdempotencyKey(key)).toBe(1);
    // Later duplicates still get the first message, whatever its status.
    const [c] = await store.claim({ workerId: "w1", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
    await store.complete({ id: c!.id, workerId: "w1", now: iso(T0 + 1) });
    const again = await store.enqueue({ message: draft(ch, tenant, { idempotencyKey: key }) });
    expect(again).toMatchObject({ id: winner.id, status: "delivered" });
  });

  add("idempotency keys are per tenant: two tenants and the global scope using one key get three messages", async (store, raw) => {
    const ch = randomKey("ch");
    const a = randomTenant("a");
    const b = randomTenant("b");
    const key = randomKey("idem");
    const ma = await store.enqueue({ message: draft(ch, a, { idempotencyKey: key, payload: { who: "a" } }) });
    // Another tenant's key neither blocks this enqueue nor hands back (reveals) the other message.
    const mb = await store.enqueue({ message: draft(ch, b, { idempotencyKey: key, payload: { who: "b" } }) });
    const mg = await store.enqueue({ message: draft(ch, null, { idempotencyKey: key, payload: { who: "global" } }) });
    expect(new Set([ma.id, mb.id, mg.id]).size).toBe(3);
    expect([ma.tenantId, mb.tenantId, mg.tenantId]).toEqual([a, b, null]);
    expect(mb.payload).toEqual({ who: "b" });
    expect(mg.payload).toEqual({ who: "global" });
    if (raw) expect(await raw.countByIdempotencyKey(key)).toBe(3);
    expect(await store.findByIdempotencyKey({ tenantId: a, idempotencyKey: key })).toEqual(ma);
    expect(await store.findByIdempotencyKey({ tenantId: b, idempotencyKey: key })).toEqual(mb);
    expect(await store.findByIdempotencyKey({ tenantId: null, idempotencyKey: key })).toEqual(mg);
    // Still idempotent within each tenant.
    const againB = await store.enqueue({ message: draft(ch, b, { idempotencyKey: key }) });
    expect(againB.id).toBe(mb.id);
    expect((await store.list({ tenantId: a, channel: ch })).items.map((m) => m.id)).toEqual([ma.id]);
    expect((await store.list({ tenantId: b, channel: ch })).items.map((m) => m.id)).toEqual([mb.id]);
    if (raw) expect(await raw.countByIdempotencyKey(key)).toBe(3);
  });

  add("enqueue rejects bad input and changes nothing", async (store) => {
    const ch = randomKey("ch");
    const tenant = randomTenant();
    await rejectsWith(store.enqueue({ message: draft(ch, tenant, { channel: "" }) }), ValidationError);
    await rejectsWith(store.enqueue({ message: draft(ch, tenant, { idempotencyKey: "" }) }), ValidationError);
    await rejectsWith(store.enqueue({ message: draft(ch, tenant, { createdAt: "yesterday" }) }), ValidationError);
    await rejectsWith(store.enqueue({ message: draft(ch, tenant, { nextAttemptAt: "soon" }) }), ValidationError);
    expect((await store.list({ tenantId: tenant })).items).toEqual([]);
    if (!store.capabilities.transactions) await rejectsWith(store.enqueue({ message: draft(ch, tenant), tx: {} }), UnsupportedError);
    expect((await store.list({ tenantId: tenant })).items).toEqual([]);
  });

  add("a message claimed by one worker is not handed to another until its lease expires", async (store, raw) => {
    const ch = randomKey("ch");
    const clock = new ManualClock(T0);
    const d = draft(ch, randomTenant());
    await store.enqueue({ message: d });
    const a = await store.claim({ workerId: "worker-a", limit: 10, leaseMs: 30_000, now: iso(clock.now()), channels: [ch] });
    expect(a.map((m) => m.id)).toEqual([d.id]);
    expect(a[0]).toMatchObject({ leaseOwner: "worker-a", leaseUntil: iso(T0 + 30_000), attempts: 1, status: "pending" });
    if (raw) expect(await raw.read(d.id)).toMatchObject({ leaseOwner: "worker-a", attempts: 1 });
    clock.advance(10_000);
    expect(await store.claim({ workerId: "worker-b", limit: 10, leaseMs: 30_000, now: iso(clock.now()), channels: [ch] })).toEqual([]);
    clock.advance(19_999);
    expect(await store.claim({ workerId: "worker-b", limit: 10, leaseMs: 30_000, now: iso(clock.now()), channels: [ch] })).toEqual([]);
    clock.advance(1);
    const b = await store.claim({ workerId: "worker-b", limit: 10, leaseMs: 30_000, now: iso(clock.now()), channels: [ch] });
    expect(b.map((m) => m.id)).toEqual([d.id]);
    expect(b[0]).toMatchObject({ leaseOwner: "worker-b", attempts: 2 });
  });

  add("concurrent claims hand each due message to exactly one worker", async (store) => {
    const ch = randomKey("ch");
    const tenant = randomTenant();
    for (let i = 0; i < 20; i++) await store.enqueue({ message: draft(ch, tenant, { createdAt: iso(T0 + i) }) });
    const { fulfilled, rejected } = await concurrently(10, (i) =>
      store.claim({ workerId: `w${i}`, limit: 3, leaseMs: 60_000, now: iso(T0 + 1000), channels: [ch] }),
    );
    expect(rejected).toEqual([]);
    const ids = fulfilled.flat().map((m) => m.id);
    expect(ids.length).toBe(20);
    expect(new Set(ids).size).toBe(20);
  });

  add("claim honours nextAttemptAt, channel filter, limit and oldest-first order", async (store) => {
    const ch = randomKey("ch");
    const other = randomKey("ch");
    const tenant = randomTenant();
    const late = await store.enqueue({ message: draft(ch, tenant, { nextAttemptAt: iso(T0 + 5000) }) });
    const second = await store.enqueue({ message: draft(ch, tenant, { createdAt: iso(T0 + 2), nextAttemptAt: iso(T0 + 20) }) });
    const first = await store.enqueue({ message: draft(ch, tenant, { createdAt: iso(T0 + 3), nextAttemptAt: iso(T0 + 10) }) });
    const elsewhere = await store.enqueue({ message: draft(other, tenant) });
    expect(await store.claim({ workerId: "w", limit: 5, leaseMs: 1000, now: iso(T0 + 100), channels: [] })).toEqual([]);
    const got = await store.claim({ workerId: "w", limit: 1, leaseMs: 60_000, now: iso(T0 + 100), channels: [ch] });
    expect(got.map((m) => m.id)).toEqual([first.id]);
    const rest = await store.claim({ workerId: "w", limit: 5, leaseMs: 60_000, now: iso(T0 + 100), channels: [ch] });
    expect(rest.map((m) => m.id)).toEqual([second.id]);
    const due = await store.claim({ workerId: "w", limit: 5, leaseMs: 60_000, now: iso(T0 + 5000), channels: [ch, other] });
    expect(due.map((m) => m.id).sort()).toEqual([late.id, elsewhere.id].sort());
    await rejectsWith(store.claim({ workerId: "w", limit: 0, leaseMs: 1000, now: iso(T0), channels: [ch] }), ValidationError);
    await rejectsWith(store.claim({ workerId: "w", limit: 1, leaseMs: 0, now: iso(T0), channels: [ch] }), ValidationError);
  });

  add("a channel listed twice in claim: each message is handed out once and none is lost", async (store) => {
    const ch = randomKey("ch");
    const tenant = randomTenant();
    const m: OutboxMessage[] = [];
    for (let i = 0; i < 3; i++) m.push(await store.enqueue({ message: draft(ch, tenant, { nextAttemptAt: iso(T0 + i) }) }));
    const got = await store.claim({ workerId: "w", limit: 2, leaseMs: 1000, now: iso(T0 + 100), channels: [ch, ch] });
    expect(got.map((x) => [x.id, x.attempts])).toEqual([
      [m[0]!.id, 1],
      [m[1]!.id, 1],
    ]);
    // After the leases expire every message is claimable again: none was swallowed by the claim.
    const later = await store.claim({ workerId: "w2", limit: 10, leaseMs: 1000, now: iso(T0 + 60_000), channels: [ch] });
    expect(later.map((x) => x.id).sort()).toEqual(m.map((x) => x.id).sort());
  });

  add("complete marks delivered; complete/fail by a worker that lost its lease -> ConflictError", async (store, raw) => {
    const ch = randomKey("ch");
    const d = draft(ch, randomTenant());
    await store.enqueue({ message: d });
    await store.claim({ workerId: "slow", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
    const [taken] = await store.claim({ workerId: "fast", limit: 1, leaseMs: 1000, now: iso(T0 + 1000), channels: [ch] });
    expect(taken?.id).toBe(d.id);
    await rejectsWith(store.complete({ id: d.id, workerId: "slow", now: iso(T0 + 1001) }), ConflictError);
    await rejectsWith(store.fail({ id: d.id, workerId: "slow", error: "late", now: iso(T0 + 1001) }), ConflictError);
    const unchanged = await store.get({ id: d.id });
    expect(unchanged).toMatchObject({ status: "pending", leaseOwner: "fast", lastError: null });
    const done = await store.complete({ id: d.id, workerId: "fast", now: iso(T0 + 1500) });
    expect(done).toMatchObject({ status: "delivered", deliveredAt: iso(T0 + 1500), leaseOwner: null, leaseUntil: null });
    expect(done.version).toBeGreaterThan(unchanged!.version);
    if (raw) expect(await raw.read(d.id)).toMatchObject({ status: "delivered" });
    await rejectsWith(store.complete({ id: d.id, workerId: "fast", now: iso(T0 + 1600) }), ConflictError);
    await rejectsWith(store.complete({ id: randomKey("missing"), workerId: "fast", now: iso(T0) }), NotFoundError);
    expect(await store.claim({ workerId: "x", limit: 5, leaseMs: 1000, now: iso(T0 + 99_000), channels: [ch] })).toEqual([]);
  });

  add("the lease holder may still complete after leaseUntil when no one re-claimed", async (store) => {
    const ch = randomKey("ch");
    const d = draft(ch, randomTenant());
    await store.enqueue({ message: d });
    await store.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
    expect(await store.complete({ id: d.id, workerId: "w", now: iso(T0 + 5000) })).toMatchObject({ status: "delivered" });
  });

  add("fail with retryAt returns the message to pending, not claimable before then", async (store) => {
    const ch = randomKey("ch");
    const d = draft(ch, randomTenant());
    await store.enqueue({ message: d });
    await store.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
    const f = await store.fail({ id: d.id, workerId: "w", error: "HTTP 503", now: iso(T0 + 10), retryAt: iso(T0 + 2000) });
    expect(f).toMatchObject({ status: "pending", lastError: "HTTP 503", leaseOwner: null, nextAttemptAt: iso(T0 + 2000), attempts: 1 });
    expect(await store.claim({ workerId: "w2", limit: 1, leaseMs: 1000, now: iso(T0 + 1999), channels: [ch] })).toEqual([]);
    const [again] = await store.claim({ workerId: "w2", limit: 1, leaseMs: 1000, now: iso(T0 + 2000), channels: [ch] });
    expect(again).toMatchObject({ id: d.id, attempts: 2, lastError: "HTTP 503" });
  });

  add("fail final dead/expired/cancelled stops the message; requeue resends it", async (store) => {
    const ch = randomKey("ch");
    const tenant = randomTenant();
    for (const final of ["dead", "expired", "cancelled"] as const) {
      const d = draft(ch, tenant);
      await store.enqueue({ message: d });
      await store.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
      const f = await store.fail({ id: d.id, workerId: "w", error: `reason ${final}`, now: iso(T0 + 5), final });
      expect(f).toMatchObject({ status: final, lastError: `reason ${final}`, finishedAt: iso(T0 + 5), leaseOwner: null });
      expect(await store.claim({ workerId: "w", limit: 5, leaseMs: 1000, now: iso(T0 + 99_999), channels: [ch] })).toEqual([]);
      expect((await store.list({ status: final, tenantId: tenant })).items.map((m) => m.id)).toEqual([d.id]);
      const r = await store.requeue({ id: d.id, now: iso(T0 + 100) });
      expect(r).toMatchObject({
        status: "pending",
        attempts: 0,
        finishedAt: null,
        nextAttemptAt: iso(T0 + 100),
        lastError: `reason ${final}`,
      });
      await rejectsWith(store.requeue({ id: d.id, now: iso(T0 + 101) }), ConflictError);
      const [c] = await store.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: iso(T0 + 100), channels: [ch] });
      expect(c?.id).toBe(d.id);
      await store.complete({ id: d.id, workerId: "w", now: iso(T0 + 200) });
      await rejectsWith(store.requeue({ id: d.id, now: iso(T0 + 300) }), ConflictError);
    }
    await rejectsWith(store.requeue({ id: randomKey("missing"), now: iso(T0) }), NotFoundError);
  });

  add(
    "cancel stops a pending message (due or waiting for backoff): cancelled, finishedAt, reason kept; requeue resends it",
    async (store, raw) => {
      const ch = randomKey("ch");
      const tenant = randomTenant();
      // Due now, never claimed.
      const due = draft(ch, tenant);
      await store.enqueue({ message: due });
      const c = await store.cancel({ id: due.id, now: iso(T0 + 5), reason: "superseded by a newer alert" });
      expect(c).toMatchObject({
        id: due.id,
        status: "cancelled",
        finishedAt: iso(T0 + 5),
        lastError: "superseded by a newer alert",
        leaseOwner: null,
        leaseUntil: null,
        attempts: 0,
        version: 2,
      });
      expect(await store.get({ id: due.id })).toEqual(c);
      if (raw) expect(await raw.read(due.id)).toEqual(c);
      // Waiting for a retry: the failed attempt's reason stays when no reason is given.
      const later = draft(ch, tenant);
      await store.enqueue({ message: later });
      await store.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
      await store.fail({ id: later.id, workerId: "w", error: "HTTP 503", now: iso(T0 + 10), retryAt: iso(T0 + 2000) });
      const c2 = await store.cancel({ id: later.id, now: iso(T0 + 20) });
      expect(c2).toMatchObject({ status: "cancelled", finishedAt: iso(T0 + 20), lastError: "HTTP 503", attempts: 1 });
      // Neither is ever handed out again, however late.
      expect(await store.claim({ workerId: "w", limit: 10, leaseMs: 1000, now: iso(T0 + 99_999), channels: [ch] })).toEqual([]);
      expect((await store.list({ status: "cancelled", tenantId: tenant })).items.map((m) => m.id).sort()).toEqual(
        [due.id, later.id].sort(),
      );
      // A cancelled message can be requeued, then claimed and delivered normally.
      const r = await store.requeue({ id: due.id, now: iso(T0 + 100) });
      expect(r).toMatchObject({
        status: "pending",
        attempts: 0,
        finishedAt: null,
        nextAttemptAt: iso(T0 + 100),
        lastError: "superseded by a newer alert",
      });
      const [again] = await store.claim({ workerId: "w", limit: 5, leaseMs: 1000, now: iso(T0 + 100), channels: [ch] });
      expect(again?.id).toBe(due.id);
      expect(await store.complete({ id: due.id, workerId: "w", now: iso(T0 + 110) })).toMatchObject({ status: "delivered" });
    },
  );

  add(
    "cancel of a leased message: the holder's complete and fail get ConflictError, it stays cancelled and is not re-claimed",
    async (store, raw) => {
      const ch = randomKey("ch");
      const d = draft(ch, randomTenant());
      await store.enqueue({ message: d });
      const [leased] = await store.claim({ workerId: "worker-a", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
      expect(leased?.id).toBe(d.id);
      const c = await store.cancel({ id: d.id, now: iso(T0 + 5), reason: "incident acknowledged" });
      expect(c).toMatchObject({
        status: "cancelled",
        leaseOwner: null,
        leaseUntil: null,
        finishedAt: iso(T0 + 5),
        lastError: "incident acknowledged",
        attempts: 1,
      });
      await rejectsWith(store.complete({ id: d.id, workerId: "worker-a", now: iso(T0 + 10) }), ConflictError);
      await rejectsWith(store.fail({ id: d.id, workerId: "worker-a", error: "HTTP 500", now: iso(T0 + 10) }), ConflictError);
      await rejectsWith(store.fail({ id: d.id, workerId: "worker-a", error: "gone", now: iso(T0 + 10), final: "dead" }), ConflictError);
      // Past the old lease's expiry nobody gets it either.
      expect(await store.claim({ workerId: "worker-b", limit: 5, leaseMs: 1000, now: iso(T0 + 5000), channels: [ch] })).toEqual([]);
      const after = await store.get({ id: d.id });
      expect(after).toEqual(c);
      if (raw) expect(await raw.read(d.id)).toEqual(c);
    },
  );

  add("cancel racing the lease holder's complete: exactly one wins, the other gets ConflictError", async (store) => {
    const ch = randomKey("ch");
    const tenant = randomTenant();
    for (let i = 0; i < 5; i++) {
      const d = draft(ch, tenant);
      await store.enqueue({ message: d });
      await store.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
      const results = await Promise.allSettled([
        store.cancel({ id: d.id, now: iso(T0 + 5), reason: "stop" }),
        store.complete({ id: d.id, workerId: "w", now: iso(T0 + 5) }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled") as Array<PromiseFulfilledResult<OutboxMessage>>;
      const lost = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toBeInstanceOf(ConflictError);
      expect((await store.get({ id: d.id }))?.status).toBe(won[0]!.value.status);
    }
  });

  add(
    "cancel refuses delivered, dead, expired and cancelled messages (ConflictError, unchanged), unknown ids (NotFoundError) and bad input (ValidationError)",
    async (store) => {
      const ch = randomKey("ch");
      const tenant = randomTenant();
      const delivered = draft(ch, tenant);
      await store.enqueue({ message: delivered });
      await store.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
      const before = await store.complete({ id: delivered.id, workerId: "w", now: iso(T0 + 1) });
      await rejectsWith(store.cancel({ id: delivered.id, now: iso(T0 + 2), reason: "too late" }), ConflictError);
      expect(await store.get({ id: delivered.id })).toEqual(before);
      for (const final of ["dead", "expired", "cancelled"] as const) {
        const d = draft(ch, tenant);
        await store.enqueue({ message: d });
        await store.claim({ workerId: "w", limit: 1, leaseMs: 1000, now: iso(T0), channels: [ch] });
        const f = await store.fail({ id: d.id, workerId: "w", error: `reason ${final}`, now: iso(T0 + 5), final });
        await rejectsWith(store.cancel({ id: d.id, now: iso(T0 + 6), reason: "again" }), ConflictError);
        expect(await store.get({ id: d.id })).toEqual(f);
      }
      await rejectsWith(store.cancel({ id: randomKey("missing"), now: iso(T0) }), NotFoundError);
      const p = draft(ch, tenant);
      const pending = await store.enqueue({ message: p });
      await rejectsWith(store.cancel({ id: "", now: iso(T0) }), ValidationError);
      await rejectsWith(store.cancel({ id: p.id, now: "soon" }), ValidationError);
      await rejectsWith(store.cancel({ id: p.id, now: iso(T0), reason: "" }), ValidationError);
      await rejectsWith(store.cancel({ id: p.id, now: iso(T0), reason: 42 as unknown as string }), ValidationError);
      expect(await store.get({ id: p.id })).toEqual(pending);
    },
  );

  add("list pages are complete, without duplicates, and filter by tenant, status and channel", async (store) => {
    const ch = randomKey("ch");
    const tenant = randomTenant();
    const other = randomTenant();
    const mine: string[] = [];
    for (let i = 0; i < 25; i++) {
      // Equal createdAt for some, so the id tiebreak is exercised.
      const m = await store.enqueue({ message: draft(ch, tenant, { createdAt: iso(T0 + Math.floor(i / 3)) }) });
      mine.push(m.id);
      await store.enqueue({ message: draft(ch, other, { createdAt: iso(T0 + i) }) });
    }
    const globalMsg = await store.enqueue({ message: draft(ch, null) });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await store.list({ tenantId: tenant, limit: 7, cursor });
      seen.push(...page.items.map((m) => m.id));
      expect(page.items.every((m) => m.tenantId === tenant)).toBe(true);
      // A message added mid-iteration must not make the walk repeat or skip earlier ones.
      if (pages === 0) await store.enqueue({ message: draft(ch, tenant, { createdAt: iso(T0 + 500) }) });
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    expect(seen.length).toBe(26);
    expect(new Set(seen).size).toBe(26);
    expect(seen.slice(0, 25).sort()).toEqual([...mine].sort());
    const globals = await store.list({ tenantId: null, channel: ch });
    expect(globals.items.map((m) => m.id)).toEqual([globalMsg.id]);
    expect((await store.list({ tenantId: tenant, status: "delivered" })).items).toEqual([]);
    expect((await store.list({ tenantId: tenant, channel: randomKey("nope") })).items).toEqual([]);
    await rejectsWith(store.list({ tenantId: tenant, cursor: "not-a-cursor" }), ValidationError);
    await rejectsWith(store.list({ tenantId: tenant, limit: 0 }), ValidationError);
  });

  add("list orders by createdAt then id", async (store) => {
    const ch = randomKey("ch");
    const tenant = randomTenant();
    const b = await store.enqueue({ message: draft(ch, tenant, { createdAt: iso(T0 + 20) }) });
    const a = await store.enqueue({ message: draft(ch, tenant, { createdAt: iso(T0 + 10) }) });
    const c = await store.enqueue({ message: draft(ch, tenant, { createdAt: iso(T0 + 30) }) });
    expect((await store.list({ tenantId: tenant })).items.map((m) => m.id)).toEqual([a.id, b.id, c.id]);
  });

  add("returned messages are copies: mutating them changes nothing stored", async (store) => {
    const ch = randomKey("ch");
    const d = draft(ch, randomTenant());
    const m = await store.enqueue({ message: d });
    m.payload["text"] = "mutated";
    m.status = "dead";
    expect(await store.get({ id: d.id })).toMatchObject({ status: "pending", payload: d.payload });
  });

  cases.push({
    name: "forgetSubject scrubs notification bodies of the subject (any status), bumping the version; other tenants untouched",
    requires: ["erasure"],
    run: () =>
      withStore(opts, async (store, raw) => {
        const ch = randomKey("ch");
        const t = randomTenant("f");
        const other = randomTenant("o");
        const hit = await store.enqueue({
          message: draft(ch, t, { payload: { text: "User Ada Lovelace (ada@example.org) locked out", userId: "user_forget_me" } }),
        });
        const clean = await store.enqueue({ message: draft(ch, t, { payload: { text: "nothing personal" } }) });
        const elsewhere = await store.enqueue({ message: draft(ch, other, { payload: { text: "ada@example.org" } }) });
        expect(typeof store.forgetSubject).toBe("function");
        expect(
          await store.forgetSubject!({
            tenantId: t,
            subjectId: "user_forget_me",
            identifiers: ["Ada Lovelace", "ada@example.org"],
            pseudonym: "forgotten_x1",
          }),
        ).toEqual({ records: 1 });
        const after = raw ? await raw.read(hit.id) : await store.get({ id: hit.id });
        expect(after).toMatchObject({
          payload: { text: "User [ERASED] ([ERASED]) locked out", userId: "forgotten_x1" },
          version: hit.version + 1,
        });
        expect(await store.get({ id: clean.id })).toEqual(clean);
        expect(await store.get({ id: elsewhere.id })).toEqual(elsewhere);
      }),
  });

  return cases;
}

export function describeOutboxStoreConformance(opts: OutboxConformanceOptions): void {
  registerCases(
    `${opts.name}: OutboxStore conformance`,
    [...outboxStoreCases(opts), ...guardCases("outbox", opts)],
    opts.capabilities ?? {},
    opts.timeout,
  );
}
