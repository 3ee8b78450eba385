import { describe, expect, it } from "vitest";
import { ValidationError, checkCounterIncrement, checkOutboxEnqueue, type OutboxEnqueueMessage } from "@ops/core";

const msg = (over: Partial<OutboxEnqueueMessage> = {}): OutboxEnqueueMessage => ({
  id: "m1",
  tenantId: null,
  channel: "slack",
  payload: { text: "hi" },
  idempotencyKey: "k1",
  createdAt: "2026-01-01T00:00:00Z",
  ...over,
});

function issuePath(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as Error).message).toMatch(/^\[ops\/x\] invalid /);
    return (e as ValidationError).issues[0]?.path;
  }
  return undefined;
}

describe("checkOutboxEnqueue (shared by every OutboxStore adapter)", () => {
  it("normalises times and defaults nextAttemptAt to createdAt", () => {
    expect(checkOutboxEnqueue("x", msg())).toEqual({ createdAt: "2026-01-01T00:00:00.000Z", nextAttemptAt: "2026-01-01T00:00:00.000Z" });
    expect(checkOutboxEnqueue("x", msg({ nextAttemptAt: "2026-01-01T00:00:05.5Z" })).nextAttemptAt).toBe("2026-01-01T00:00:05.500Z");
  });

  it("names the bad field", () => {
    expect(issuePath(() => checkOutboxEnqueue("x", null as unknown as OutboxEnqueueMessage))).toBe("message");
    expect(issuePath(() => checkOutboxEnqueue("x", msg({ id: "" })))).toBe("message.id");
    expect(issuePath(() => checkOutboxEnqueue("x", msg({ channel: "c".repeat(129) })))).toBe("message.channel");
    expect(issuePath(() => checkOutboxEnqueue("x", msg({ idempotencyKey: 5 as unknown as string })))).toBe("message.idempotencyKey");
    expect(issuePath(() => checkOutboxEnqueue("x", msg({ tenantId: "" })))).toBe("message.tenantId");
    expect(issuePath(() => checkOutboxEnqueue("x", msg({ payload: [] as unknown as OutboxEnqueueMessage["payload"] })))).toBe(
      "message.payload",
    );
    expect(issuePath(() => checkOutboxEnqueue("x", msg({ createdAt: "yesterday" })))).toBe("message.createdAt");
    expect(issuePath(() => checkOutboxEnqueue("x", msg({ nextAttemptAt: "soon" })))).toBe("message.nextAttemptAt");
  });
});

describe("checkCounterIncrement (shared by every CounterStore adapter)", () => {
  it("returns the defaults and the bucket start", () => {
    expect(checkCounterIncrement("x", { key: "k", atMs: 125_000, bucketMs: 60_000 })).toEqual({ by: 1, windowBuckets: 1, start: 120_000 });
    expect(checkCounterIncrement("x", { key: "k", atMs: -1, bucketMs: 60_000, by: 3, windowBuckets: 10 })).toEqual({
      by: 3,
      windowBuckets: 10,
      start: -60_000,
    });
  });

  it("names the bad field", () => {
    const base = { key: "k", atMs: 0, bucketMs: 1000 };
    const path = (over: object) => {
      try {
        checkCounterIncrement("x", { ...base, ...over });
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        return (e as ValidationError).issues[0]?.path;
      }
      return undefined;
    };
    expect(path({ key: "" })).toBe("key");
    expect(path({ key: "k".repeat(257) })).toBe("key");
    expect(path({ bucketMs: 0 })).toBe("bucketMs");
    expect(path({ by: 1.5 })).toBe("by");
    expect(path({ by: 2 ** 60 })).toBe("by");
    expect(path({ windowBuckets: -1 })).toBe("windowBuckets");
    expect(path({ atMs: Number.NaN })).toBe("atMs");
  });
});
