import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { ConfigError } from "@ops/core";
import { chainOn, computeAuditHash, createAuditLog, exportJsonl, makeAuditEntry, verifyExport, type ChainableEntry } from "@ops/audit";
import { memory } from "./helpers.js";

const mac = { keyId: "k1", key: randomBytes(32) };

async function keyedLog(n = 5) {
  const m = memory();
  const log = createAuditLog({ store: m.store, env: "prod", clock: m.clock, mac });
  for (let i = 0; i < n; i++) await log.append({ action: "DATA_ACCESS", tenantId: "acme", actorUserId: "u", meta: { i } });
  return { ...m, log };
}

/** What the application's database role can do without the MAC key: a row with a correct SHA-256 hash, or a made-up MAC. */
async function forgeAtHead(store: ReturnType<typeof memory>["store"], fakeMac: boolean) {
  const head = (await store.head({ tenantId: "acme" }))!;
  const entry = {
    ...makeAuditEntry({ action: "ROLE_CHANGE", tenantId: "acme", actorUserId: "mallory", env: "prod" }),
    id: "aud_forged",
  } as ChainableEntry;
  const hasher = fakeMac ? () => `hmac:k1:${randomBytes(32).toString("hex")}` : computeAuditHash;
  await store.append({ tenantId: "acme", records: chainOn(head, "acme", [entry], hasher) });
}

describe("keyed entries (MAC under a key outside the database)", () => {
  it("every entry carries an HMAC and verifies with the key", async () => {
    const { log, store } = await keyedLog();
    const rows = await store.range({ tenantId: "acme", fromSeq: 1, limit: 10 });
    expect(rows.every((r) => /^hmac:k1:[0-9a-f]{64}$/.test(r.hash))).toBe(true);
    expect(await log.verify({ tenantId: "acme" })).toMatchObject({ ok: true, checked: 5, macsChecked: 5 });
  });

  it("a row forged at the head without the key is detected at once, with no checkpoint", async () => {
    for (const fakeMac of [false, true]) {
      const { log, store } = await keyedLog();
      await forgeAtHead(store, fakeMac);
      const res = await log.verify({ tenantId: "acme" });
      expect(res.ok).toBe(false);
      expect(res.problem).toMatchObject({ seq: 6, id: "aud_forged" });
      expect(["inserted", "modified"]).toContain(res.problem!.kind);
    }
  });

  it("the export verifier checks MACs offline; a forged head in the export is found without a checkpoint", async () => {
    const { log, store } = await keyedLog();
    const good = await text(exportJsonl(log, { tenantId: "acme" }));
    expect(await verifyExport(Readable.from([good]), { macKeys: [mac] })).toMatchObject({ ok: true, macsChecked: 5 });
    expect(await verifyExport(Readable.from([good]), {})).toMatchObject({ ok: true, macsChecked: 0, macsUnverifiable: 5 });
    await forgeAtHead(store, false);
    const forged = await text(exportJsonl(log, { tenantId: "acme" }));
    expect((await verifyExport(Readable.from([forged]), { macKeys: [mac] })).problem).toMatchObject({ kind: "inserted", seq: 6 });
    // A MAC key of the wrong value: every MAC fails.
    expect((await verifyExport(Readable.from([good]), { macKeys: [{ keyId: "k1", key: randomBytes(32) }] })).problem).toMatchObject({
      kind: "modified",
      seq: 1,
    });
  });

  it("rotation: entries under an older key verify with macKeys; a short key is refused", async () => {
    const m = memory();
    const old = createAuditLog({ store: m.store, env: "prod", mac });
    await old.append({ action: "AUTH_LOGIN", actorUserId: "u" });
    const k2 = { keyId: "k2", key: randomBytes(32) };
    const next = createAuditLog({ store: m.store, env: "prod", mac: k2, macKeys: [mac] });
    await next.append({ action: "AUTH_LOGIN", actorUserId: "u" });
    expect(await next.verify({ tenantId: null })).toMatchObject({ ok: true, macsChecked: 2 });
    expect(() => createAuditLog({ store: m.store, env: "prod", mac: { keyId: "k", key: "short" } })).toThrow(ConfigError);
  });
});
