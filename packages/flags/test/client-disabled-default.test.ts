import { describe, expect, it } from "vitest";
import { MemoryFlagStore } from "@ops/adapter-memory";
import { FeatureFlagController, buildClientPayload, createClientSigningKey, importSigningKey, signClientPayload } from "@ops/flags";
import { FlagsClient } from "@ops/flags/client";

const who = { actorUserId: "admin", reason: "client disabled test" };

describe("client: a disabled flag serves the caller's default, like the server", () => {
  it("isEnabled/stringValue/numberValue/jsonValue return the caller's fallback for a kill-switched flag without offValue", async () => {
    const c = new FeatureFlagController(new MemoryFlagStore(), "prod", { pollIntervalMs: 0 });
    await c.setFlag({ key: "checkout", newValue: true, ...who });
    await c.setFlag({ key: "banner", newValue: "sale", ...who });
    await c.setFlag({ key: "limit", newValue: 7, ...who });
    await c.setFlag({ key: "cfg", newValue: { a: 1 }, ...who });
    await c.setFlag({ key: "with_off", newValue: true, ...who });
    for (const key of ["checkout", "banner", "limit", "cfg"]) await c.setEnabled({ key, enabled: false, ...who });
    const ctx = { userId: "u1", tenantId: "acme" };
    // The server's answer, the reference.
    expect(c.isEnabled("checkout", ctx, true)).toBe(true);
    expect(c.stringValue("banner", ctx, "fallback")).toBe("fallback");
    const keys = await createClientSigningKey("k1");
    const signing = await importSigningKey({ keyId: "k1", privateKey: keys.privateKey });
    const client = new FlagsClient({ publicKey: keys.publicKey });
    await client.load(await signClientPayload(buildClientPayload(c, ctx), signing, "k1"));
    expect(client.isEnabled("checkout", undefined, true)).toBe(true);
    expect(client.stringValue("banner", undefined, "fallback")).toBe("fallback");
    expect(client.numberValue("limit", undefined, 3)).toBe(3);
    expect(client.jsonValue("cfg", undefined, { b: 2 })).toEqual({ b: 2 });
    expect(client.evaluate("checkout").reason).toBe("DISABLED");
    // Without a fallback: the type's zero value, as before.
    expect(client.isEnabled("checkout")).toBe(false);
    // An enabled flag is untouched by the fallback.
    expect(client.isEnabled("with_off", undefined, false)).toBe(true);
    await c.close();
  });
});
