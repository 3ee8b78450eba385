import { randomBytes } from "node:crypto";
import type { SubjectKey, TenantKey } from "@ops/core";
import { randomTenant } from "@ops/testkit";
import { expect, it } from "vitest";
import { forEachDriver } from "./support/drivers.js";

let n = 0;
const candidate = (tenantId: TenantKey, subjectId: string): SubjectKey => ({
  keyId: `key_${process.pid}_${Date.now().toString(36)}_${++n}`,
  tenantId,
  subjectId,
  key: new Uint8Array(randomBytes(32)),
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(),
});

await forEachDriver("subject_keys", (_driver, harness) => {
  it("getOrCreate stores one key per subject: of 10 concurrent candidates every caller gets the same", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    const got = await Promise.all(Array.from({ length: 10 }, () => stores.auditKeys.getOrCreate({ candidate: candidate(tenant, "s1") })));
    expect(new Set(got.map((k) => k.keyId)).size).toBe(1);
    const stored = await stores.auditKeys.get({ tenantId: tenant, keyId: got[0]!.keyId });
    expect(stored).toEqual(got[0]);
    expect(stored!.key).toBeInstanceOf(Uint8Array);
    expect(stored!.key).toHaveLength(32);
  });

  it("keys round-trip byte for byte, are tenant-scoped, and destroy deletes them", async () => {
    const { stores } = await harness();
    const tenant = randomTenant();
    const c = candidate(tenant, "s2");
    c.key = new Uint8Array([0, 255, 1, 254, ...new Array<number>(28).fill(7)]);
    expect(await stores.auditKeys.getOrCreate({ candidate: c })).toEqual(c);
    expect(await stores.auditKeys.get({ tenantId: randomTenant(), keyId: c.keyId })).toBeNull();
    expect(await stores.auditKeys.get({ tenantId: null, keyId: c.keyId })).toBeNull();
    const globalKey = await stores.auditKeys.getOrCreate({ candidate: candidate(null, "s2") });
    expect(await stores.auditKeys.destroy({ tenantId: tenant, subjectId: "s2" })).toBe(1);
    expect(await stores.auditKeys.destroy({ tenantId: tenant, subjectId: "s2" })).toBe(0);
    expect(await stores.auditKeys.get({ tenantId: tenant, keyId: c.keyId })).toBeNull();
    expect(await stores.auditKeys.get({ tenantId: null, keyId: globalKey.keyId })).toEqual(globalKey);
    const fresh = await stores.auditKeys.getOrCreate({ candidate: candidate(tenant, "s2") });
    expect(fresh.keyId).not.toBe(c.keyId);
    await stores.auditKeys.destroy({ tenantId: null, subjectId: "s2" });
  });
});
