import { describe, expect, it } from "vitest";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import type { OutboxMessage, OutboxStore } from "@ops/core";
import { outboxStoreCases, type OutboxConformanceOptions } from "../src/outbox.js";

/** Runs every case against `create` and returns the names of the cases that rejected. */
async function failingCases(create: () => OutboxStore): Promise<string[]> {
  const opts: OutboxConformanceOptions = { name: "broken", create };
  const failed: string[] = [];
  for (const c of outboxStoreCases(opts)) {
    try {
      await c.run();
    } catch {
      failed.push(c.name);
    }
  }
  return failed;
}

/** A memory store with one method replaced. */
function brokenStore(patch: (inner: MemoryOutboxStore) => Partial<OutboxStore>): () => OutboxStore {
  return () => {
    const inner = new MemoryOutboxStore();
    const overrides = patch(inner);
    return new Proxy(inner, {
      get(target, prop, receiver) {
        if (typeof prop === "string" && prop in overrides) return (overrides as Record<string, unknown>)[prop];
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as OutboxStore;
  };
}

describe("outbox conformance suite catches broken stores", () => {
  it("passes against the reference memory store", async () => {
    expect(await failingCases(() => new MemoryOutboxStore())).toEqual([]);
  });

  it("fails a store that hands a leased message to a second worker", async () => {
    const failed = await failingCases(
      brokenStore((inner) => {
        // Ignores live leases: each call claims as if every earlier lease had already expired.
        let calls = 0;
        return {
          claim: (input) => {
            calls += 1;
            return inner.claim({ ...input, now: new Date(Date.parse(input.now) + calls * 10 * 86_400_000).toISOString() });
          },
        };
      }),
    );
    expect(failed).toContain("a message claimed by one worker is not handed to another until its lease expires");
    expect(failed).toContain("concurrent claims hand each due message to exactly one worker");
  });

  it("fails a store whose enqueue is not idempotent", async () => {
    const failed = await failingCases(
      brokenStore((inner) => ({
        enqueue: (input) =>
          inner.enqueue({ ...input, message: { ...input.message, idempotencyKey: `${input.message.idempotencyKey}-${input.message.id}` } }),
      })),
    );
    expect(failed).toContain("enqueue is idempotent under 20 concurrent enqueuers with one key");
  });

  it("fails a store that lets a worker complete after losing its lease", async () => {
    const failed = await failingCases(
      brokenStore((inner) => ({
        complete: async (input) => {
          const m = await inner.get({ id: input.id });
          return inner.complete({ ...input, workerId: m?.leaseOwner ?? input.workerId });
        },
      })),
    );
    expect(failed).toContain("complete marks delivered; complete/fail by a worker that lost its lease -> ConflictError");
  });

  it("fails a store whose pages repeat the boundary item", async () => {
    const failed = await failingCases(
      brokenStore((inner) => ({
        list: async (input) => {
          const page = await inner.list(input);
          if (input.cursor == null || page.items.length === 0) return page;
          // Off-by-one keyset: re-serves the previous page's last item.
          const prev = await inner.list({ ...input, cursor: null, limit: 1000 });
          const idx = prev.items.findIndex((m: OutboxMessage) => m.id === page.items[0]!.id);
          return { ...page, items: idx > 0 ? [prev.items[idx - 1]!, ...page.items] : page.items };
        },
      })),
    );
    expect(failed).toContain("list pages are complete, without duplicates, and filter by tenant, status and channel");
  });

  it("fails a store that ignores the tenant filter", async () => {
    const failed = await failingCases(
      brokenStore((inner) => ({
        list: (input) => {
          const { tenantId: _ignored, ...rest } = input;
          return inner.list(rest);
        },
      })),
    );
    expect(failed).toContain("list pages are complete, without duplicates, and filter by tenant, status and channel");
  });
});
