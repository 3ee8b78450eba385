import { describe, expect, it } from "vitest";
import { ValidationError } from "@ops/core";
import { MemoryAuditStore } from "@ops/adapter-memory";
import { createAuditLog } from "../src/index.js";

// The audit log's append uses the core definition of storable text: a NUL or a lone surrogate is
// refused (field named) before the store is called, and the chain is unchanged. (With redaction
// on, the default, redacted free text has them replaced by U+FFFD instead, as before.)
describe("audit append refuses unstorable text before writing", () => {
  it("reason, actor and meta: field named, head unchanged", async () => {
    const store = new MemoryAuditStore();
    const log = createAuditLog({ store, env: "prod", redact: false });
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u", tenantId: "a" });
    const head = await store.head({ tenantId: "a" });
    for (const [over, field] of [
      [{ reason: "r\u0000" }, "reason"],
      [{ actorUserId: "u\ud800" }, "actorUserId"],
      [{ meta: { k: "\udc00" } }, "meta.k"],
    ] as const) {
      const err = await log.append({ action: "AUTH_LOGIN", actorUserId: "u", tenantId: "a", ...over }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toBe(field);
    }
    expect(await store.head({ tenantId: "a" })).toEqual(head);
  });
});
