import { describe, expect, it } from "vitest";
import { ValidationError } from "@ops/core";
import { MemoryAuditStore } from "@ops/adapter-memory";
import { createAuditLog } from "../src/index.js";

// The audit log's append uses the core definition of storable text: a NUL or a lone surrogate is
// refused (field named) before the store is called, and the chain is unchanged. (With redaction
// on, the default, the same: redaction masks secrets, it does not rewrite what cannot be stored.)
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

  it("with redaction on (the default): free text and meta with a NUL or a lone surrogate are refused, field named, nothing written", async () => {
    const store = new MemoryAuditStore();
    const log = createAuditLog({ store, env: "prod" });
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u", tenantId: "a" });
    const head = await store.head({ tenantId: "a" });
    for (const [over, field] of [
      [{ reason: "r\u0000" }, "reason"],
      [{ reason: "r\ud800x" }, "reason"],
      [{ actor: { id: "u", userAgent: "ua\udc00" } }, "actor.userAgent"],
      [{ target: { id: "t", name: "n\u0000" } }, "target.name"],
      [{ meta: { k: "\udc00" } }, "meta.k"],
      [{ meta: { list: ["ok", "a\u0000"] } }, "meta.list[1]"],
      [{ meta: { ["k\u0000"]: 1 } }, "meta.k\u0000"],
    ] as const) {
      const err = await log.append({ action: "AUTH_LOGIN", actorUserId: "u", tenantId: "a", ...(over as object) }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toBe(field);
      expect((err as ValidationError).message).toContain(`invalid audit entry: ${field}`);
    }
    expect(await store.head({ tenantId: "a" })).toEqual(head);
    // A secret's value is masked whole, whatever it holds; emoji and RTL text are stored as given.
    const ok = await log.append({
      action: "AUTH_LOGIN",
      actorUserId: "u",
      tenantId: "a",
      reason: "😀 \u202eשלום",
      meta: { password: "p\u0000", note: "😀" },
    });
    expect(ok.reason).toBe("😀 \u202eשלום");
    expect(ok.meta).toMatchObject({ password: "[REDACTED]", note: "😀" });
  });
});
