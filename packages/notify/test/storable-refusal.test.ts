import { describe, expect, it } from "vitest";
import { ValidationError } from "@ops/core";
import { MemoryOutboxStore } from "@ops/adapter-memory";
import { createNotifier, logChannel } from "../src/index.js";

// A notification holding unstorable text (NUL, a lone surrogate) is refused before anything is
// enqueued, with the typed error naming the caller's field.
describe("notify refuses unstorable text before enqueueing", () => {
  it("subject, body, dedupeKey, details and a cancel reason: field named, outbox unchanged", async () => {
    const store = new MemoryOutboxStore();
    const notifier = createNotifier({ store, channels: [logChannel({ write: () => {} })] });
    const base = { subject: "db down", body: "b", severity: "critical" as const, tenantId: "acme" };
    for (const [over, field] of [
      [{ subject: "db\u0000down" }, "subject"],
      [{ body: "b\ud800" }, "body"],
      [{ dedupeKey: "\udc00k" }, "dedupeKey"],
      [{ details: { host: "h\u0000" } }, "details.host"],
    ] as const) {
      const err = await notifier.enqueue({ ...base, ...over }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toBe(field);
    }
    expect((await store.list({})).items).toHaveLength(0);
    const ok = await notifier.enqueue({ ...base, body: "שלום 😀" });
    const id = ok.messages[0]!.messageId;
    const err = await notifier.cancel({ messageId: id, reason: "stop\u0000" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as ValidationError).issues[0]?.path).toBe("reason");
    expect((await store.get({ id }))?.status).toBe("pending");
  });
});
