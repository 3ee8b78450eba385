import { describe, expect, it } from "vitest";
import { checkStorable, checkStoreInput, guardStore, storableText, ValidationError, type IncidentStore } from "../src/index.js";

describe("storable text", () => {
  it("refuses NUL and unpaired surrogates, keeps emoji and right-to-left text, names nested paths", () => {
    for (const ok of ["", "😀 e\u0301", "\u202eשלום", "a\ud83d\ude00b"]) expect(() => checkStorable(ok, "reason")).not.toThrow();
    for (const bad of ["a\u0000", "\ud800", "x\udc00y", "\ude00\ud83d"])
      expect(() => checkStorable(bad, "reason")).toThrow(ValidationError);
    const err = (() => {
      try {
        checkStorable({ list: [{ k: "v\u0000" }] }, "meta", { kind: "json", pkg: "app", what: "signal" });
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(err?.issues[0]?.path).toBe("meta.list[0].k");
    expect(err?.message).toMatch(/^\[ops\/app\] invalid signal: meta\.list\[0\]\.k: /);
    expect(storableText("name").safeParse("n".repeat(257)).success).toBe(false);
  });

  it("guardStore refuses a bogus incident before the store sees it, and normalises times", async () => {
    const seen: unknown[] = [];
    const store = guardStore("incidents", { create: async (i: unknown) => void seen.push(i) } as unknown as IncidentStore);
    const record = {
      id: "inc_1",
      tenantId: null,
      fingerprint: "fp",
      type: "T",
      severity: "high",
      state: "open",
      title: "t",
      openedAt: "2026-01-01T01:00:00+01:00",
      updatedAt: "2026-01-01T00:00:00Z",
      data: {},
    };
    await expect(store.create({ record: { ...record, severity: "bogus" } as never })).rejects.toThrow(/record\.severity/);
    await expect(store.create({ record: { ...record, openedAt: "yesterday" } as never })).rejects.toThrow(/record\.openedAt/);
    expect(seen).toHaveLength(0);
    await store.create({ record: record as never });
    expect((seen[0] as { record: { openedAt: string } }).record.openedAt).toBe("2026-01-01T00:00:00.000Z");
    expect(() =>
      checkStoreInput("flags", "put", { env: "prod", key: "k", tenantId: null, config: 1, expectedVersion: null, actor: "" }),
    ).toThrow(/actor/);
  });
});
