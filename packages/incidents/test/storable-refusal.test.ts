import { describe, expect, it } from "vitest";
import { MemoryAuthEventStore, MemoryCounterStore, MemoryIncidentStore } from "@ops/adapter-memory";
import { ValidationError } from "@ops/core";
import { createSignalRecorder, IncidentManager } from "../src/index.js";

// Unstorable text (NUL, a lone surrogate) is refused by the public write before anything is
// buffered or written, with the typed error naming the caller's field.

function refusal(fn: () => unknown): ValidationError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe("signals and incidents refuse unstorable text before writing", () => {
  it("recordAuthEvent: a poison signal is refused (field named), nothing is stored, a clean one behind it is", async () => {
    const authEvents = new MemoryAuthEventStore();
    const rec = createSignalRecorder({ counters: new MemoryCounterStore(), authEvents });
    const tenantId = "acme";
    const poison: Array<[Record<string, unknown>, string]> = [
      [{ userId: "u\u0000" }, "userId"],
      [{ ip: "1.2.3.4\ud800" }, "ip"],
      [{ provider: "\udc00pw" }, "provider"],
      [{ meta: { k: "v\u0000" } }, "meta.k"],
      [{ meta: { "k\ud800": 1 } }, "meta.k\ud800"],
      [{ meta: { deep: { list: ["\u0000"] } } }, "meta.deep.list[0]"],
    ];
    for (const [extra, field] of poison) {
      const err = refusal(() => rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId, ...extra }));
      expect(err.issues[0]?.path).toBe(field);
    }
    rec.recordAuthEvent({ type: "LOGIN_FAILED", tenantId, userId: "alice 😀", meta: { note: "שלום" } });
    await rec.flush();
    const stored = (await authEvents.list({ tenantId })).items;
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ userId: "alice 😀", meta: { note: "שלום" } });
  });

  it("IncidentManager.transition: a NUL reason or a lone-surrogate actor leaves the incident at its version", async () => {
    const store = new MemoryIncidentStore();
    const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
    const created = await store.create({
      record: {
        id: "inc_1",
        tenantId: "acme",
        fingerprint: "fp",
        type: "T",
        severity: "high",
        state: "open",
        title: "t",
        openedAt: at,
        updatedAt: at,
        data: { history: [] },
      },
    });
    const m = new IncidentManager({ store });
    for (const [input, field] of [
      [{ actor: "alice", reason: "r\u0000" }, "reason"],
      [{ actor: "al\ud800ice" }, "actor"],
    ] as const) {
      const err = await m.acknowledge({ tenantId: "acme", id: "inc_1", ...input }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toBe(field);
    }
    expect(await store.get({ tenantId: "acme", id: "inc_1" })).toEqual(created);
  });
});
