import { describe, expect, it } from "vitest";
import { memoryStores } from "@ops/adapter-memory";
import { createAuditLog, envFromNodeEnv } from "../src/index.js";

describe("a log created without env", () => {
  it("accepts AuditSink records (which carry no env) and labels them from NODE_ENV", async () => {
    const stores = memoryStores();
    const log = createAuditLog({ store: stores.audit });
    await log.record({ action: "FLAG_CHANGE", actor: { id: "admin_1", type: "user" }, meta: { key: "f" } });
    const [entry] = (await stores.audit.query({ tenantId: null })).items;
    expect(entry?.env).toBe(envFromNodeEnv(process.env.NODE_ENV));
    // An entry naming its env keeps it.
    await log.append({ action: "AUTH_LOGIN", actorUserId: "u1", env: "staging" });
    expect((await stores.audit.query({ tenantId: null })).items.map((e) => e.env)).toEqual([
      envFromNodeEnv(process.env.NODE_ENV),
      "staging",
    ]);
  });

  it("maps NODE_ENV to the usual environment names", () => {
    expect(["production", "staging", "test", "development", undefined, "weird"].map(envFromNodeEnv)).toEqual([
      "prod",
      "staging",
      "test",
      "dev",
      "dev",
      "dev",
    ]);
  });
});
